#pragma once
// KILO_TEST_ASAN: whether AddressSanitizer is on (it replaces malloc and
// grows every process; GCC and clang spell it apart).
#if defined(__SANITIZE_ADDRESS__)
#define KILO_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILO_TEST_ASAN 1
#endif
#endif
#ifndef KILO_TEST_ASAN
#define KILO_TEST_ASAN 0
#endif

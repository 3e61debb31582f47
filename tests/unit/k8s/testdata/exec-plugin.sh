#!/bin/sh
# A fake client.authentication.k8s.io/v1 exec credential plugin for tests.
# Env: COUNT_FILE (one line appended per run), TOKEN, EXPIRY (RFC 3339,
# optional), FAIL (print it on stderr and exit 1). $1 is appended to the token
# so tests can see that args are passed.
[ -n "$COUNT_FILE" ] && echo run >> "$COUNT_FILE"
if [ -n "$FAIL" ]; then echo "plugin failed: $FAIL" >&2; exit 1; fi
case "$KUBERNETES_EXEC_INFO" in
  *'"interactive":false'*) ;;
  *) echo "KUBERNETES_EXEC_INFO missing" >&2; exit 2 ;;
esac
exp=""
[ -n "$EXPIRY" ] && exp=",\"expirationTimestamp\":\"$EXPIRY\""
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"%s}}\n' "$TOKEN$1" "$exp"

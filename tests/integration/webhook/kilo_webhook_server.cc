// The webhook server alone, for the integration tests (same code path as
// `kg webhook`, without depending on the agent binary).
#include "webhook/server.h"

int main(int argc, char** argv) { return kilo::webhook::RunWebhook(argc, argv); }

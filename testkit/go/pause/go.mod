// testkit's pause program: the sandbox ("infra") container of every Pod on testkit's node. Ours,
// because no image registry can be reached from the test machines.
module bedrock-operator.dev/testkit/pause

go 1.26.0

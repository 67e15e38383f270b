#!/usr/bin/env bash
# Prints the uploads of the application jar and the configuration to S3 that conf/emr's steps expect, or runs them
# when the AWS CLI is installed and configured (credentials from the standard AWS chain; nothing is stored here).
# Usage: conf/emr/upload.sh s3://my-bucket/imgvec [--run]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="${1:?usage: conf/emr/upload.sh s3://bucket/prefix [--run]}"
DEST="${DEST%/}"
JAR="$(ls "$ROOT"/jobs/target/imgvec-jobs-*-app.jar 2>/dev/null | head -1)"
[[ -n "$JAR" ]] || { echo "no app jar: build it with (cd $ROOT && mvn -Papp-jar -DskipTests install)" >&2; exit 2; }
cmds=("aws s3 cp $JAR $DEST/imgvec-jobs-app.jar"
      "aws s3 cp $ROOT/conf/imgvec.properties $DEST/conf/imgvec.properties")
if [[ "${2:-}" == --run ]] && command -v aws >/dev/null && aws sts get-caller-identity >/dev/null 2>&1; then
  for c in "${cmds[@]}"; do echo "+ $c"; $c; done
else
  printf '%s\n' "${cmds[@]}"
fi

#!/usr/bin/env bash
# Refreshes the vendored botocore service models under models/.
# Run by hand (never by the build): downloads the botocore wheel from PyPI and copies
# the newest API version of each service we serve, compressed, with its license.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-}"
services="sts iam logs cloudwatch sns s3 s3control kms cloudtrail cloudformation organizations ec2 config wafv2 shield fms ssm inspector inspector2 cloudhsmv2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip download --quiet --no-deps -d "$tmp" "botocore${version:+==$version}"
wheel=$(ls "$tmp"/botocore-*.whl)
(cd "$tmp" && python3 -m zipfile -e "$wheel" x)
got=$(basename "$wheel" | sed -E 's/botocore-([^-]+)-.*/\1/')
rm -rf models/*/
for s in $services; do
  api=$(ls "$tmp/x/botocore/data/$s" | sort | tail -n 1)
  mkdir -p "models/$s"
  src="$tmp/x/botocore/data/$s/$api/service-2.json"
  if [ -f "$src.gz" ]; then cp "$src.gz" "models/$s/service-2.json.gz"; else gzip -9 -c "$src" > "models/$s/service-2.json.gz"; fi
  echo "$api" > "models/$s/api-version"
done
cp "$tmp"/x/botocore-*.dist-info/LICENSE.txt models/LICENSE.txt
cp "$tmp"/x/botocore-*.dist-info/NOTICE models/NOTICE
cat > models/SOURCE.md <<TXT
# Vendored service models

These are the botocore service models (\`botocore/data/<service>/<api-version>/service-2.json\`),
copied unchanged (gzip-compressed) from the botocore $got wheel on PyPI by
\`scripts/refresh-models.sh\`. They are data, under the Apache License 2.0 kept beside them
in LICENSE.txt and NOTICE. Each folder's \`api-version\` names the model version taken.
Paginators and waiters are not vendored: the server does not use them.
TXT
echo "models refreshed from botocore $got"

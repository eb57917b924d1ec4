# Sourced by the bench scripts: `use_dev_credentials DATA_DIR` exports AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY from the dev-credentials.json that `trentd dev` wrote there, so
# trent-bench and trent sign as the dev cluster's administrator.
use_dev_credentials() {
  local file="$1/dev-credentials.json"
  AWS_ACCESS_KEY_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_key_id"])' "$file")
  AWS_SECRET_ACCESS_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_access_key"])' "$file")
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}

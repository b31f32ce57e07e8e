#!/usr/bin/env bash
# Regenerates docs/cli-session.txt: a session of the seesaw CLI on a database
# holding a few thousand jobs, made by the CLI itself and by demo workers.
#   SEESAW_DATABASE_URL=... docs/cli-session.sh BUILD_DIR > docs/cli-session.txt
# It drops and re-creates the schema `seesaw` of that database.
set -uo pipefail
build=${1:?usage: docs/cli-session.sh BUILD_DIR}
: "${SEESAW_DATABASE_URL:?set SEESAW_DATABASE_URL}"
export SEESAW_DATABASE_URL
cli=$build/cli/seesaw
demo=$build/examples/seesaw-demo

# Prints the command, then what it printed (stdout and stderr) and a failing status.
run() {
  local shown='$ seesaw' arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:+=@,-]+$ ]]; then shown+=" $arg"; else shown+=" '${arg//\'/\'\\\'\'}'"; fi
  done
  printf '%s\n' "$shown"
  "$cli" "$@" 2>&1
  local status=$?
  [ $status -eq 0 ] || printf '(exit status %d)\n' $status
  echo
}
quiet() { "$@" >/dev/null 2>&1; }

echo "# A session of the seesaw CLI against PostgreSQL, made by docs/cli-session.sh. Generated, not edited."
echo
quiet psql "$SEESAW_DATABASE_URL" -c "DROP SCHEMA IF EXISTS seesaw CASCADE"
run --version
run migrate --status
run migrate --dry-run
run migrate
run migrate --status

echo '# 3,000 jobs for the demo workers: one from the command line, the rest from stdin.'
run enqueue send_email '{"to": "ada@example.com", "subject": "Welcome"}' --priority -1
for i in $(seq 1 2400); do printf '{"to": "user%d@example.com", "subject": "Welcome"}\n' "$i"; done >/tmp/seesaw-emails.jsonl
printf '$ seesaw enqueue send_email - < emails.jsonl   # 2,400 lines\n'
"$cli" enqueue send_email - </tmp/seesaw-emails.jsonl 2>&1
echo
for i in $(seq 1 400); do printf '{"account": "acct-%d", "amount_cents": 1999, "fail_times": %d}\n' "$i" $((i % 3)); done >/tmp/seesaw-charges.jsonl
printf '$ seesaw enqueue charge_card - --max-retries 1 < charges.jsonl   # 400 lines, a third fail twice\n'
"$cli" enqueue charge_card - --max-retries 1 </tmp/seesaw-charges.jsonl 2>&1
echo
for i in $(seq 1 150); do printf '{"url": "https://example.com/%d.png", "width": 640}\n' "$i"; done >/tmp/seesaw-images.jsonl
printf '$ seesaw enqueue resize_image - --queue images < images.jsonl   # 150 lines, a queue no worker serves\n'
"$cli" enqueue resize_image - --queue images </tmp/seesaw-images.jsonl 2>&1
echo
for i in $(seq 1 40); do printf '{"reason": "corrupt input %d"}\n' "$i"; done >/tmp/seesaw-poison.jsonl
printf '$ seesaw enqueue poison_pill - < poison.jsonl   # 40 lines\n'
"$cli" enqueue poison_pill - </tmp/seesaw-poison.jsonl 2>&1
echo
run enqueue generate_report '{"report_id": 7, "seconds": 1}' --queue reports --run-at +1h
echo '# A unique job: the second enqueue with the same key finds the first.'
run enqueue generate_report '{"report_id": 8, "seconds": 1}' --queue reports --run-at +1h --unique-key report-8 --unique-for 1d
run enqueue generate_report '{"report_id": 8, "seconds": 1}' --queue reports --run-at +1h --unique-key report-8 --unique-for 1d
rm -f /tmp/seesaw-emails.jsonl /tmp/seesaw-charges.jsonl /tmp/seesaw-images.jsonl /tmp/seesaw-poison.jsonl
run stats

echo '# Two demo workers (seesaw-demo worker --schema seesaw) run for three seconds, then stop on SIGTERM.'
"$demo" worker --schema seesaw --workers 4 >/tmp/seesaw-worker-1.log 2>&1 &
w1=$!
"$demo" worker --schema seesaw --workers 4 >/tmp/seesaw-worker-2.log 2>&1 &
w2=$!
sleep 3
kill -TERM $w1 $w2
for w in $w1 $w2; do
  wait $w || { echo "a demo worker failed (status $?):"; cat /tmp/seesaw-worker-*.log; exit 1; }
done
rm -f /tmp/seesaw-worker-1.log /tmp/seesaw-worker-2.log
echo

run stats
run stats --json
run stats --queue images
echo '# Each demo worker registers the periodic schedule demo-tick (@every 1s); the leader inserted one job a second.'
run periodic list
run periodic list --json
run jobs list --status dead_letter --limit 3
dead=$("$cli" jobs list --status dead_letter --limit 1 --json 2>/dev/null | sed -E 's/.*"id":"([0-9a-f-]{36})".*/\1/')
run jobs show "$dead"
run jobs list --type charge_card --status succeeded --limit 3
printf '$ seesaw dead-letter list | head -4\n'
"$cli" dead-letter list 2>&1 | head -4
echo
printf '$ seesaw dead-letter list --json | head -c 600\n'
"$cli" dead-letter list --json 2>&1 | head -c 600
printf '\n\n'
run dead-letter retry "$dead"
run dead-letter retry --all --type poison_pill
run stats
run reclaim
run cleanup --older-than 1s
run cleanup --older-than 30d --status dead_letter
run stats --json

echo '# Job control: pause a queue (enqueues go on, no worker starts its jobs), cancel jobs, resume.'
run queues pause images
run queues pause images
run queues list
out=$(run enqueue resize_image '{"url": "https://example.com/cover.png", "width": 1200}' --queue images --priority 5)
printf '%s\n\n' "$out"
cover=$(sed -n 2p <<<"$out")
run jobs cancel "$cover"
run jobs cancel "$cover" --json
run jobs cancel --type generate_report
run stats
run queues resume images
run queues list --json
run cleanup --older-than 0s --status cancelled

echo '# Mistakes: each is refused, with the reason, and writes nothing.'
run enqueue send_email '{"to": "ada@example.com", "subject": }'
run enqueue send_email '{"to": "ada@example.com"}' --max-retries -1
run jobs list --status finished
run enqueue generate_report '{"report_id": 9}' --unique-for 1h
run jobs show not-a-uuid
run jobs cancel
run queues pause ''
run stats --database-url postgresql://nobody@127.0.0.1:1/seesaw
run frobnicate

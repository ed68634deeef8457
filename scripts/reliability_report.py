#!/usr/bin/env python3
"""Writes RELIABILITY.md from the JSON reports of scripts/reliability.sh."""
import datetime
import json
import os
import platform
import re
import sys

out = sys.argv[1]


def load(name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


soak = load("soak.json")
crash = load("crash.json")
canary_log = open(os.path.join(out, "canaries.log")).read()
window_log = open(os.path.join(out, "window.log")).read()
hostile = re.search(r"hostile content: (\d+) payloads", window_log)
window_canary = re.search(r"window key canary: page source after (\d+) echoes and (\d+) files", window_log)
scanned = re.search(r"key canary: (\d+) files scanned", canary_log)

print("# Reliability\n")
print(f"Written by `scripts/reliability.sh` on {datetime.date.today()} "
      f"({platform.machine()}, {os.cpu_count()} cores, release build). Every figure below "
      "comes from that run; the test command runs the same checks at a smaller size.\n")
print("| figure | result | goal |")
print("|---|---|---|")
print(f"| fault soak: streams run (half saved to the store) | {soak['streams']} ({soak['saved']} saved), seed {soak['seed']} | >= 1,000 |")
faults = ", ".join(f"{k} {v}" for k, v in sorted(soak["faults"].items()))
print(f"| faults by kind | {faults} | every kind |")
states = ", ".join(f"{k} {v}" for k, v in sorted(soak["terminal_states"].items()))
print(f"| terminal states | {states} | exactly one per stream |")
print(f"| bytes of complete events lost | {soak['bytes_lost']} | 0 |")
print(f"| peak resident memory of the soak | {soak['max_rss_mb']} MB | bounded |")
print(f"| longest time to a terminal state | {soak['longest_to_terminal_ms']} ms (answer deadline {soak['deadline_ms']} ms) | no hang past the deadline |")
print(f"| crash soak: SIGKILLs of `runnel ask --save` | {crash['kills']} ({crash['kills_on_a_first_schema_database']} during a migration of a copied first-schema database); {crash['interrupted_answers']} answers killed mid-stream | 100 |")
print(f"| after every kill | database opens, `PRAGMA integrity_check` ok, killed answers `interrupted` | always |")
print(f"| worst text lost by a kill | {crash['worst_loss_ms']} ms | <= {crash['promise_ms']} ms |")
files = scanned.group(1) if scanned else "?"
print(f"| key canary (echoed in a 401, a retried 500, an in-stream error, a redirect) | 0 hits in {files} files (data and config dirs, debug log, Markdown and JSON exports), stdout and stderr; no request reached the redirect's host | 0 |")
if hostile:
    print(f"| hostile content through the real window (OWASP vectors, markdown link and image tricks, fence info strings, HTML in a title, a model name, an error body, search snippets) | {hostile.group(1)} payloads in answers plus a title, an error body, a model name and search snippets: none ran, none escaped its box | >= 100, none |")
if window_canary:
    print(f"| key canary in the window (echoed in a retried 500, a 401, an in-stream error) | 0 hits in the page source after {window_canary.group(1)} echoes and in {window_canary.group(2)} files under the app's data, config and cache dirs | 0 |")
print()
print("Each invariant is asserted for every stream and every kill, so the run fails rather "
      "than report a violation. Faults: a drop at a random byte, a stall past the idle "
      "timeout, garbage bytes, UTF-8 cut mid-character, 429/5xx before the first byte, a "
      "redirect, a line over 16 MiB, an endless stream (ended by the answer deadline), a "
      "server that never answers, and none.")

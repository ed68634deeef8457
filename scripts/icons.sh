#!/usr/bin/env bash
# Rebuilds ui/icons.svg, the window's icon sprite, from the npm package
# lucide-static (ISC license, icons/LICENSE-lucide). The sprite is committed;
# this script is only run to add an icon or move to a newer Lucide.
# Usage: scripts/icons.sh [version]
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-1.62.0}
# The icons the window uses (ids in the sprite = Lucide's names).
icons=(square-pen search settings panel-left ellipsis copy pencil refresh-cw chevron-left
  chevron-right chevron-down pin pin-off trash-2 download upload arrow-up square x rotate-ccw
  check brain file-text braces sun moon monitor key-round circle-alert info message-square)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "lucide-static@$version" --silent >/dev/null && tar xzf lucide-static-*.tgz)
cp "$tmp/package/LICENSE" icons/LICENSE-lucide
python3 - "$tmp/package/icons" "$version" "${icons[@]}" >ui/icons.svg <<'PY'
import sys
src, version, names = sys.argv[1], sys.argv[2], sys.argv[3:]
print('<svg xmlns="http://www.w3.org/2000/svg">')
print(f'<!-- Icons from Lucide (https://lucide.dev), lucide-static {version}, ISC license: '
      'see icons/LICENSE-lucide. Regenerate with scripts/icons.sh. -->')
for n in names:
    s = open(f'{src}/{n}.svg').read()
    body = s[s.index('>', s.index('<svg')) + 1:s.rindex('</svg>')]
    body = ' '.join(l.strip() for l in body.strip().splitlines())
    print(f'<symbol id="{n}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
          f'stroke-linecap="round" stroke-linejoin="round">{body}</symbol>')
print('</svg>')
PY
echo "ui/icons.svg: ${#icons[@]} icons from lucide-static $version"

#!/usr/bin/env bash
# npm run deb: builds dist/etrn_<version>_all.deb with debhelper, with the
# CLI bundle built from src/ by esbuild (offline; node_modules from npm ci), then
# checks it with lintian --pedantic (errors fail the build; the warnings
# kept are explained in debian/etrn.lintian-overrides and README.md).
# Needs: debhelper, dpkg-dev, lintian (lab/install.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
for tool in dpkg-buildpackage dh lintian; do
  command -v "$tool" >/dev/null || { echo "build-deb: $tool not found: apt-get install debhelper dpkg-dev lintian (or run lab/install.sh)" >&2; exit 1; }
done
version=$(node -p 'JSON.parse(require("fs").readFileSync("package.json","utf8")).version')
debversion=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ "$version" = "$debversion" ] || { echo "build-deb: package.json version $version but debian/changelog $debversion" >&2; exit 1; }

stage=$root/.cache/deb/build
src=$stage/etrn-$version
rm -rf "$stage"
mkdir -p "$src/usr/share/etrn/bin" "$src/usr/share/etrn/dist"
cp -r debian contrib man README.md LICENSE "$src/"
# The bundle, built from src/ straight into the staging tree (dist/bundle,
# which running tests may use, is left alone).
ETRN_BUNDLE_OUTDIR="$src/usr/share/etrn/dist/bundle" node scripts/build.mjs
# Debian's node, by its path (policy: no /usr/bin/env in scripts).
sed '1s|^#!.*|#!/usr/bin/node|' bin/etrn.js >"$src/usr/share/etrn/bin/etrn.js"
chmod 0755 "$src/usr/share/etrn/bin/etrn.js"
install -m 0755 scripts/start-up.sh "$src/usr/share/etrn/start-up"
# The bundle is ESM: node needs "type": "module" in the nearest package.json.
node -e 'const p=JSON.parse(require("fs").readFileSync("package.json","utf8"));
process.stdout.write(JSON.stringify({name:p.name,version:p.version,type:"module",private:true},null,2)+"\n")' \
  >"$src/usr/share/etrn/package.json"
(cd "$src" && dpkg-buildpackage -b -us -uc >"$stage/build.log" 2>&1) || { tail -40 "$stage/build.log" >&2; exit 1; }
mkdir -p dist
deb=dist/etrn_${version}_all.deb
mv "$stage/etrn_${version}_all.deb" "$deb"
echo "build-deb: $deb" >&2
lintian --pedantic --fail-on error "$deb" >&2

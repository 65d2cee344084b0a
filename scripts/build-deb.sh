#!/bin/bash
# Builds dist/directord_<version>_<arch>.deb in one command: `bash scripts/build-deb.sh [--no-build]`.
# dpkg-deb from a staged tree, not debhelper: what ships is already built by `npm run build` (addons, XDP object,
# JS) plus the production npm dependencies, which dh does not know how to stage; dpkg-deb is in every Debian and
# needs no source package or build-dependencies, and the tree it packs is what you see in $stage.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build=1
[ "${1:-}" = "--no-build" ] && build=0

version=$(node -p 'require("./package.json").version')
revision=1
arch=$(dpkg --print-architecture)
# The Node.js architecture name (netlink's prebuilds are per arch: only this one ships).
node_arch=$(node -p 'process.arch')
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

if [ "$build" = 1 ]; then npm run build; fi
for f in build/Release/directord_native.node build/Release/directord_afxdp.node build/Release/directord_xdp.bpf.o dist/src/main.js dist/packaging/man/gen-man.js; do
  [ -e "$f" ] || { echo "build-deb: $f is missing: run npm run build (or drop --no-build)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/directord-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
stage=$work/root
lib=$stage/usr/lib/directord
doc=$stage/usr/share/doc/directord
mkdir -p "$lib/build/Release" "$stage/usr/sbin" "$stage/DEBIAN" "$doc/examples" "$stage/usr/share/man/man8" \
  "$stage/usr/share/man/man5" "$stage/usr/share/bash-completion/completions" "$stage/lib/systemd/system" \
  "$stage/etc/default" "$stage/usr/share/lintian/overrides"

# The program: compiled JS (no tests, benches or source maps) and the native parts (not directord_bench.node), laid out as in the checkout so
# src/dataplane/native.ts finds build/Release next to dist/.
mkdir -p "$lib/dist" && (cd dist && find src -name '*.js' -exec cp --parents -t "$lib/dist/" {} +)
install -m 0644 build/Release/directord_native.node build/Release/directord_afxdp.node build/Release/directord_xdp.bpf.o "$lib/build/Release/"
strip --strip-unneeded "$lib"/build/Release/*.node   # never the BPF object: the kernel needs its BTF
node -e 'const p=require("./package.json");process.stdout.write(JSON.stringify({name:p.name,version:p.version,license:p.license,private:true,dependencies:p.dependencies},null,2)+"\n")' > "$lib/package.json"
chmod 0755 "$lib/dist/src/main.js" "$lib/dist/src/cli/main.js"
ln -s ../lib/directord/dist/src/main.js "$stage/usr/sbin/directord"
ln -s ../lib/directord/dist/src/cli/main.js "$stage/usr/sbin/directorctl"

# Production dependencies only, copied from the built node_modules (npm's own list of the --omit=dev tree), so the
# native modules (pcap, raw-socket) are the ones built and tested here; the checkout's node_modules is only read.
mods=$(npm ls --omit=dev --all --parseable | grep '/node_modules/' | sed "s|^$repo/||" | sort -u)
for m in $mods; do
  mkdir -p "$lib/$(dirname "$m")"
  cp -a --dereference "$m" "$lib/$m.tmp" && rm -rf "$lib/$m" && mv "$lib/$m.tmp" "$lib/$m"
done
# Nested node_modules were copied with their parent; what builds leave behind and other architectures' binaries go
# (each module's LICENSE stays next to its code; packaging/debian/copyright lists them).
find "$lib/node_modules" \( -name obj.target -o -name .deps -o -name '*.mk' -o -name Makefile -o -name config.gypi \
  -o -name '*.o' -o -name '*.a' -o -name '.*' -o -name '*.md' -o -name '*.markdown' -o -name '*.ts' -o -name '*.map' \
  -o -name test -o -name tests -o -name example -o -name examples -o -name '*.gyp' -o -name '*.cc' -o -name '*.h' \
  -o -name '*.c' -o -name 'src' -path '*/pcap/src' -o -name '*.tsbuildinfo' -o -name '*.html' -o -name '@types' \
  -o -name nan -o -name node-addon-api \) -prune -exec rm -rf {} +   # nan, node-addon-api: headers for the build
find "$lib/node_modules" -path '*/prebuilds/*' -type d -prune ! -name "linux-$node_arch" -exec rm -rf {} + 2>/dev/null || true
find "$lib/node_modules" -name '*.node' -exec strip --strip-unneeded {} +
# Node loads modules (and dlopen()s addons) without the execute bit; npm leaves it on some files.
# Scripts (a #! line) keep it, as lintian wants.
find "$lib/node_modules" -type f -exec chmod 0644 {} +
find "$lib/node_modules" -type f -exec sh -c 'for f; do [ "$(head -c2 "$f")" = "#!" ] && chmod 0755 "$f"; done; true' sh {} +
find "$lib/node_modules" -type d -empty -delete

# Everything else an operator gets.
sed -e 's|/usr/local/bin/|/usr/sbin/|g' systemd/directord.service > "$stage/lib/systemd/system/directord.service"
install -m 0644 packaging/default/directord "$stage/etc/default/directord"
install -m 0644 packaging/completion/directorctl "$stage/usr/share/bash-completion/completions/directorctl"
install -m 0644 test/fixtures/seed/lvs.cf "$doc/examples/lvs.cf"
for f in config/*.cf; do install -m 0644 "$f" "$doc/examples/"; done
install -m 0644 config/grafana-dashboard.json config/directord.rules.yml "$doc/examples/"
install -m 0644 packaging/debian/copyright "$doc/copyright"
install -m 0644 packaging/debian/lintian-overrides "$stage/usr/share/lintian/overrides/directord"
node dist/packaging/man/gen-man.js "$work/man"
install -m 0644 "$work/man/directord.8" "$work/man/directorctl.8" "$stage/usr/share/man/man8/"
install -m 0644 "$work/man/lvs.cf.5" "$stage/usr/share/man/man5/"
changelog_date=$(date -R -u -d "@$SOURCE_DATE_EPOCH")
printf 'directord (%s-%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- directord maintainers <directord@example.org>  %s\n' \
  "$version" "$revision" "$(git rev-parse --short HEAD 2>/dev/null || echo 'a source tree')" "$changelog_date" > "$doc/changelog.Debian"
gzip -9n "$doc/changelog.Debian" "$stage"/usr/share/man/man*/*

for s in postinst postrm; do install -m 0755 "packaging/debian/$s" "$stage/DEBIAN/$s"; done
echo /etc/default/directord > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version-$revision/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" packaging/debian/control > "$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"

find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f ! -path '*/DEBIAN/*' -exec chmod go-w {} +
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p dist
out="dist/directord_${version}-${revision}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"

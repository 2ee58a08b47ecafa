#!/usr/bin/env bash
# make install into a DESTDIR, then use the installed tree as a user would:
# pkg-config for both builds (dynamic, and --static giving the archive),
# a program linked with -lspanalloc found at run time through its rpath,
# the launcher, the docs; make uninstall leaves no file behind.
#
# usage: tests/install/run.sh   (from the top directory, after make all)
# env:   MAKE (default make), CC (default cc), B (the build dir, default build)
set -euo pipefail

MAKE=${MAKE:-make}
CC=${CC:-cc}
B=${B:-build}
prefix=/usr/local
dest=$(mktemp -d "${TMPDIR:-/tmp}/spanalloc-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT
fails=0

fail() {
	echo "FAIL $*" >&2
	fails=$((fails + 1))
}
pass() { echo "PASS $*"; }

$MAKE -s --no-print-directory install B="$B" DESTDIR="$dest/root" PREFIX="$prefix" >"$dest/install.log" 2>&1 ||
	{ cat "$dest/install.log" >&2; fail "make install"; exit 1; }

root=$dest/root
lib=$root$prefix/lib
for f in lib/libspanalloc.so lib/libspanalloc.a lib/libspanalloc-debug.so lib/libspanalloc-debug.a \
	lib/pkgconfig/spanalloc.pc lib/pkgconfig/spanalloc-debug.pc include/spanalloc.h bin/spanalloc \
	share/doc/spanalloc/README.md share/doc/spanalloc/SECURITY.md share/doc/spanalloc/design.md; do
	[ -f "$root$prefix/$f" ] || fail "installed: $prefix/$f missing"
done
if grep -n '@\(PREFIX\|LIBDIR\|INCDIR\)@' "$lib"/pkgconfig/*.pc >&2 ||
	grep -n '^libdir="@LIBDIR@"' "$root$prefix/bin/spanalloc" >&2; then
	fail "placeholders left"
fi

# pkg-config on the DESTDIR tree: the sysroot prefixes the -I and -L paths.
pc() { PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@"; }

# The program allocates with malloc and asks spanalloc about the block: if
# malloc were not spanalloc's, sa_malloc_usable_size would report an
# invalid free and abort.
cat >"$dest/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <spanalloc.h>
int main(void)
{
	char *p = malloc(100);
	struct sa_memstats m;
	sa_read_memstats(&m);
	printf("usable=%zu mallocs=%llu\n", sa_malloc_usable_size(p), (unsigned long long)m.Mallocs);
	free(p);
	return sa_check_heap() != 0;
}
C

check_run() { # name command... : prints what prog.c prints, for a spanalloc block
	local name=$1 out
	shift
	if out=$("$@" 2>&1) && [[ $out == usable=1[0-9][0-9]\ mallocs=[1-9]* ]]; then
		pass "$name"
	else
		fail "$name: $out"
	fi
}

for pkg in spanalloc spanalloc-debug; do
	flags=$(pc --cflags --libs $pkg) || { fail "pkg-config $pkg"; continue; }
	[[ $flags == *"-I$root$prefix/include"* && $flags == *"-L$lib"* ]] || fail "pkg-config $pkg: $flags"
	# Dynamic: found at run time through the rpath (ldconfig's job on a
	# real install into a system directory).
	# shellcheck disable=SC2086
	if $CC -o "$dest/$pkg-dyn" "$dest/prog.c" $flags -Wl,-rpath,"$lib" 2>"$dest/cc.log"; then
		ldd "$dest/$pkg-dyn" | grep "$lib/lib$pkg.so" >/dev/null || fail "$pkg: the binary does not load $lib/lib$pkg.so"
		check_run "$pkg: -l$pkg via pkg-config, found through the rpath" "$dest/$pkg-dyn"
	else
		cat "$dest/cc.log" >&2
		fail "$pkg: dynamic link"
	fi
	# Static: pkg-config --static adds what the archive needs (-lpthread).
	sflags=$(pc --static --libs $pkg)
	[[ $sflags == *-lpthread* ]] || fail "pkg-config --static $pkg: no -lpthread in '$sflags'"
	archive=$(pc --variable=archive $pkg)
	[ -f "$archive" ] || fail "pkg-config --variable=archive $pkg: $archive"
	# shellcheck disable=SC2086
	if $CC -static -o "$dest/$pkg-static" "$dest/prog.c" $(pc --cflags $pkg) $sflags 2>"$dest/cc.log"; then
		! ldd "$dest/$pkg-static" >/dev/null 2>&1 || fail "$pkg: -static binary is dynamic"
		check_run "$pkg: -static with pkg-config --static (the archive)" "$dest/$pkg-static"
	else
		cat "$dest/cc.log" >&2
		fail "$pkg: static link"
	fi
	# The archive in a dynamic program, by the path pkg-config gives.
	# shellcheck disable=SC2086
	if $CC -o "$dest/$pkg-ar" "$dest/prog.c" $(pc --cflags $pkg) "$archive" -lpthread 2>"$dest/cc.log"; then
		ldd "$dest/$pkg-ar" | grep "lib$pkg.so" >/dev/null && fail "$pkg: archive link still loads the .so"
		check_run "$pkg: the archive (pkg-config --variable=archive)" "$dest/$pkg-ar"
	else
		cat "$dest/cc.log" >&2
		fail "$pkg: archive link"
	fi
done

# The launcher finds the installed library (not this build tree: it is run
# from the DESTDIR copy, whose ../build does not exist).
cat >"$dest/plain.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <spanalloc.h>
#include <dlfcn.h>
int main(void)
{
	/* sa_ names resolve only when spanalloc is preloaded. */
	size_t (*usable)(const void *) = (size_t (*)(const void *))dlsym(RTLD_DEFAULT, "sa_malloc_usable_size");
	char *p = malloc(100);
	printf("usable=%zu mallocs=1\n", usable ? usable(p) : 0);
	free(p);
	return 0;
}
C
$CC -o "$dest/plain" "$dest/plain.c" -I"$root$prefix/include" -ldl
# The installed launcher names $prefix/lib; point it at the DESTDIR copy.
sed "s|^libdir=.*|libdir=\"$lib\"|" "$root$prefix/bin/spanalloc" >"$dest/spanalloc-launcher"
chmod 755 "$dest/spanalloc-launcher"
grep -q "^libdir=\"$prefix/lib\"" "$root$prefix/bin/spanalloc" || fail "launcher: libdir is not $prefix/lib"
check_run "launcher: bin/spanalloc run" "$dest/spanalloc-launcher" run -- "$dest/plain"

$MAKE -s --no-print-directory uninstall B="$B" DESTDIR="$root" PREFIX="$prefix" >"$dest/uninstall.log" 2>&1 ||
	fail "make uninstall"
left=$(find "$root" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
[ $fails -eq 0 ] || { echo "install tests: $fails failed" >&2; exit 1; }
pass "make uninstall"
echo "install tests passed"

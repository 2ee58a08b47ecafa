# A fragment for a project's OSS-Fuzz / ClusterFuzzLite build.sh: the
# project's libFuzzer targets linked with spanalloc's debug library, a build
# next to the ASan one that needs no sanitizer (SANITIZER=none, or any build
# that sets SPANALLOC_DEBUG=1).  Source it before the project's own build
# lines, which must link with $LIB_FUZZING_ENGINE (as OSS-Fuzz's do):
#
#   Dockerfile:  RUN git clone --depth 1 https://github.com/OWNER/spanalloc $SRC/spanalloc
#   build.sh:    . $SRC/spanalloc/fuzz/your-project/spanalloc-debug.sh
#
# Options: SPANALLOC_OPTIONS when the runner lets you set the environment;
# otherwise SPANALLOC_DEFAULTS here is compiled into every target (as
# spanalloc_default_options()), and each target's .options file keeps its
# [libfuzzer] section (detect_leaks=1, malloc_limit_mb=, rss_limit_mb=).
if [ "${SANITIZER:-}" = none ] || [ -n "${SPANALLOC_DEBUG:-}" ]; then
	sa_dir=${SPANALLOC_DIR:-$SRC/spanalloc}
	# The library itself is built without the fuzzing flags (no coverage of it).
	make -C "$sa_dir" -j"$(nproc)" build/libspanalloc-debug.a CC="${CC:-clang}" CFLAGS= >/dev/null
	sa_lib=$sa_dir/build/libspanalloc-debug.a
	if [ -n "${SPANALLOC_DEFAULTS:-}" ]; then
		printf 'const char *spanalloc_default_options(void);\nconst char *spanalloc_default_options(void) { return "%s"; }\n' \
			"$SPANALLOC_DEFAULTS" >"$WORK/spanalloc_defaults.c"
		${CC:-clang} -c -O1 -o "$WORK/spanalloc_defaults.o" "$WORK/spanalloc_defaults.c"
		sa_lib="$WORK/spanalloc_defaults.o $sa_lib"
	fi
	# whole-archive: every target gets spanalloc's malloc, whatever it links after.
	export LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE -Wl,--whole-archive $sa_lib -Wl,--no-whole-archive -lpthread"
fi

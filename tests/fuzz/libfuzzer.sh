#!/bin/sh
# libfuzzer.sh — `make fuzz`: build every tests/fuzz/fuzz_*.c target as a real
# libFuzzer binary with clang (the core compiled afresh with clang, since a
# gcc-ASan build cannot be linked into a clang-ASan program) and run each for
# FUZZ_SECONDS. Run by the Makefile with these variables set:
#   CG_SRCDIR FUZZ_DIR FUZZ_SECONDS FUZZ_NAMES FUZZ_CORE_SOURCES
#   FUZZ_DEP_CFLAGS FUZZ_DEP_LIBS          (and optionally CLANG, FUZZ_JOBS)
# New corpus entries go to $FUZZ_DIR/corpus/NAME (the committed seeds in
# tests/fuzz/corpus/NAME are only read); crashes to $FUZZ_DIR/NAME-crash-*.
set -eu
CLANG=${CLANG:-clang}
JOBS=${FUZZ_JOBS:-2}

if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "make fuzz: $CLANG not found; it needs clang with libFuzzer:" >&2
    echo "  sudo apt-get install clang" >&2
    exit 1
fi
mkdir -p "$FUZZ_DIR/obj" "$FUZZ_DIR/corpus"
probe="$FUZZ_DIR/probe.c"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }' >"$probe"
if ! "$CLANG" -fsanitize=fuzzer "$probe" -o "$FUZZ_DIR/probe" 2>"$FUZZ_DIR/probe.log"; then
    echo "make fuzz: $CLANG cannot build with -fsanitize=fuzzer (see $FUZZ_DIR/probe.log);" >&2
    echo "  install clang with its libFuzzer runtime: sudo apt-get install clang" >&2
    exit 1
fi

SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer $SAN -D_GNU_SOURCE \
  -I$CG_SRCDIR/include -I$CG_SRCDIR/core -DCITYGRID_VERSION=\"fuzz\" \
  -DCG_DATASET_DIR=\"$CG_SRCDIR/contrib/lishui\" $FUZZ_DEP_CFLAGS"
export CLANG CFLAGS CG_SRCDIR FUZZ_DIR

echo "make fuzz: compiling the core with $CLANG"
for src in $FUZZ_CORE_SOURCES; do echo "$src"; done | grep -v '/main\.c$' |
    xargs -P "$JOBS" -I{} sh -c \
        'o="$FUZZ_DIR/obj/$(echo {} | tr / _ | sed "s/\.c$/.o/")";
         $CLANG $CFLAGS -c "$CG_SRCDIR/{}" -o "$o" || exit 255'
rm -f "$FUZZ_DIR/libcore.a"
ar rcs "$FUZZ_DIR/libcore.a" "$FUZZ_DIR"/obj/*.o

status=0
for name in $FUZZ_NAMES; do
    bin="$FUZZ_DIR/fuzz_$name"
    # shellcheck disable=SC2086
    "$CLANG" $CFLAGS -fsanitize=fuzzer "$CG_SRCDIR/tests/fuzz/fuzz_$name.c" \
        "$FUZZ_DIR/libcore.a" $FUZZ_DEP_LIBS -o "$bin"
    mkdir -p "$FUZZ_DIR/corpus/$name"
    echo "make fuzz: fuzz_$name for ${FUZZ_SECONDS}s"
    if "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 \
        -artifact_prefix="$FUZZ_DIR/$name-" -print_final_stats=0 \
        "$FUZZ_DIR/corpus/$name" "$CG_SRCDIR/tests/fuzz/corpus/$name" \
        >"$FUZZ_DIR/$name.log" 2>&1; then
        echo "fuzz_$name: ok ($(grep -c . "$FUZZ_DIR/$name.log") log lines, $FUZZ_DIR/$name.log)"
    else
        echo "fuzz_$name: FAILED, see $FUZZ_DIR/$name.log:" >&2
        tail -n 40 "$FUZZ_DIR/$name.log" >&2
        status=1
    fi
done
exit $status

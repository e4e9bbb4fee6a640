# tidy.awk — scdoc's roff made clean for `mandoc -T lint`: the title in
# capitals (man convention), no paragraph macro that does nothing (after a
# heading, before another macro, at the end), and text lines wrapped below
# 80 bytes (roff joins them again; a piece that would start with . or ' is
# escaped so that it stays text).
function flush_para() { if (pending) { print ".P"; pending = 0 } }
function emit(line,    cut, head) {
    while (length(line) > 79) {
        cut = 0
        for (i = 79; i > 20; i--) if (substr(line, i, 1) == " ") { cut = i; break }
        if (!cut) break
        head = substr(line, 1, cut - 1); line = substr(line, cut + 1)
        print head
        if (line ~ /^[.']/) line = "\\&" line
    }
    print line
}
/^\.TH / { $2 = toupper($2); print; after_heading = 1; next }
/^\.P$/ || /^\.PP$/ { if (!after_heading) pending = 1; next }
/^\.(SH|SS) / { pending = 0; print; after_heading = 1; next }
# A paragraph break before .RE belongs after it; before any other macro it
# does nothing.
/^\.RE/ { print; next }
/^\./ { pending = 0; print; after_heading = 0; next }
{ flush_para(); after_heading = 0; emit($0) }

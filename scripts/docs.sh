#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# docs.sh: render Documentation/ to HTML (make docs), as "make htmldocs"
# would in a kernel tree: Debian's Sphinx with the 6.12 tree's kernel-doc
# extension (Documentation/sphinx/kerneldoc.py) pulling the API reference
# out of the sources.  Any warning fails: Sphinx's (-W), and kernel-doc's,
# which the extension only prints, plus "kernel-doc -none -Wall" on every
# file the documents pull from.
#
# The HTML goes to Documentation/output/html/ (git-ignored); the last line
# printed is the path of its index.  Called with RESULTS in the environment
# (by check.sh), it records the outcome as the check "docs-html".

results_given=${RESULTS:+yes}
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need python3-sphinx python3-sphinx-rtd-theme perl
prepare_tree

out=$REPO/Documentation/output
index=$out/html/index.html

# Debian's Sphinx is a module of Debian's python3, whatever python3 comes
# first in PATH.
sphinx=(/usr/bin/python3 -m sphinx)

render() {
	local files f logf=$out/sphinx.log status=0
	rm -rf "$out"
	mkdir -p "$out"
	log "Sphinx $("${sphinx[@]}" --version 2>&1 | awk '{print $NF}'), kernel-doc from $TREE"
	IRQBYPASS_KTREE=$TREE "${sphinx[@]}" -W --keep-going -q -b html \
		-d "$out/doctrees" "$REPO/Documentation" "$out/html" \
		>"$logf" 2>&1 || status=$?
	cat "$logf"
	# kerneldoc.py passes kernel-doc's warnings through to stderr only.
	if grep -E '(warning|error):' "$logf" >/dev/null; then
		echo "kernel-doc or Sphinx warnings above"
		status=1
	fi
	[ "$status" -eq 0 ] || return "$status"
	[ -f "$index" ] || { echo "no $index"; return 1; }

	# The sources the documents pull from, under kernel-doc -Wall.
	mapfile -t files < <(sed -n 's/^\.\. kernel-doc:: *\([^ ]*\) *$/\1/p' \
		"$REPO"/Documentation/*.rst | sort -u)
	[ ${#files[@]} -gt 0 ] || { echo "no kernel-doc directives"; return 1; }
	for f in "${files[@]}"; do
		[ -f "$REPO/$f" ] || { echo "no $f"; return 1; }
	done
	f=$(cd "$REPO" && perl "$TREE/scripts/kernel-doc" -none -Wall \
		"${files[@]}" 2>&1)
	if [ -n "$f" ]; then
		echo "$f"
		return 1
	fi
}

if [ -n "$results_given" ]; then
	check docs-html render
	[ -f "$index" ] && echo "$index"
else
	render
	echo "$index"
fi

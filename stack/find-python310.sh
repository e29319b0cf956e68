#!/bin/sh
# Print the path of a Python 3.10 interpreter (Rasa 3.6 supports 3.8-3.10), or say how to get one.
is310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }
for candidate in "$PYTHON310" python3.10; do
  [ -n "$candidate" ] || continue
  if is310 "$candidate"; then command -v "$candidate"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for candidate in $(ls -d "$(pyenv root)"/versions/3.10.*/bin/python 2>/dev/null | sort -rV); do
    if is310 "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi
echo "Python 3.10 not found: install it (pyenv install 3.10.13, or apt-get install python3.10) or set PYTHON310=/path/to/python3.10" >&2
exit 1

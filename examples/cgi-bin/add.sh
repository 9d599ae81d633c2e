#!/bin/sh
# The adding machine in POSIX sh: sums every "operand" in the query string,
# e.g. /cgi-bin/add.sh?operand=40&operand=2 answers "your total is 42".

# Print a text/plain response; $1 is the status ("" for 200), $2 the body
# (a newline is added). Content-Length is counted in bytes with wc.
respond() {
  length=$(printf '%s\n' "$2" | wc -c)
  if [ -n "$1" ]; then printf 'Status: %s\n' "$1"; fi
  printf 'Content-Type: text/plain; charset=utf-8\n'
  printf 'Content-Length: %d\n\n' $((length))
  printf '%s\n' "$2"
  exit 0
}

# Print $1 with "+" turned into a space and %XX escapes decoded.
urldecode() {
  in=$1
  while [ -n "$in" ]; do
    case $in in
      %[0-9A-Fa-f][0-9A-Fa-f]*)
        hex=${in#%}; hex=${hex%"${hex#??}"}   # the two hex digits
        printf "\\$(printf %o "0x$hex")"      # as an octal escape: \101 is A
        in=${in#???} ;;
      +*) printf ' '; in=${in#?} ;;
      *) rest=${in#?}; printf '%s' "${in%"$rest"}"; in=$rest ;;
    esac
  done
}

# Split QUERY_STRING into name=value pairs at each "&".
set -f            # no filename globbing while splitting
IFS='&'
set -- $QUERY_STRING
unset IFS
set +f

total=0
for pair in "$@"; do
  case $pair in
    *=*) name=${pair%%=*} value=${pair#*=} ;;
    *) name=$pair value= ;;
  esac
  [ "$(urldecode "$name")" = operand ] || continue
  value=$(urldecode "$value")

  # Trim surrounding whitespace, then drop a leading "-" and leading zeros
  # (shell arithmetic would read 010 as octal).
  number=${value#"${value%%[![:space:]]*}"}
  number=${number%"${number##*[![:space:]]}"}
  digits=${number#-}
  case $digits in
    '' | *[!0-9]*) respond '400 Bad Request' "operand \"$value\" is not an integer" ;;
  esac
  sign=${number%"$digits"}
  digits=${digits#"${digits%%[!0]*}"}

  # Shell arithmetic is 64-bit: keep operands and the total below 10^18.
  if [ ${#digits} -gt 18 ]; then
    respond '400 Bad Request' "operand \"$value\" is too large for add.sh"
  fi
  total=$((total + ${sign}${digits:-0}))
  if [ "$total" -gt 999999999999999999 ] || [ "$total" -lt -999999999999999999 ]; then
    respond '400 Bad Request' "the total is too large for add.sh"
  fi
done

respond '' "your total is $total"

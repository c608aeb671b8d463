// An independent client of the Annals ledger, built only on Go's golang.org/x/mod/sumdb/note
// and sumdb/tlog (Debian: golang-golang-x-mod-dev). It fetches the signed checkpoint, verifies
// it with the verifier key, then checks, for every leaf (or a sample of large trees), the JSON
// inclusion proof and a proof tlog builds itself from the server's hash tiles (CheckRecord),
// the leaf hash against the entries tile, and consistency from an older size (CheckTree).
//
// usage: go-verifier <base URL> <verifier key> <older tree size>
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base string

func get(path string) []byte {
	resp, err := http.Get(base + path)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		fail("GET %s: %d %s %v", path, resp.StatusCode, body, err)
	}
	return body
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func hash(s string) tlog.Hash {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != tlog.HashSize {
		fail("bad hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

// tiles reads hash tiles from the server: tlog's `tile/8/<L>/<N>` is C2SP's `tile/<L>/<N>`.
type tiles struct{}

func (tiles) Height() int { return 8 }

func (tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = get("/ledger/" + strings.Replace(t.Path(), "tile/8/", "tile/", 1))
	}
	return out, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func main() {
	if len(os.Args) != 4 {
		fail("usage: go-verifier <base URL> <verifier key> <older tree size>")
	}
	base = strings.TrimRight(os.Args[1], "/")
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("verifier key: %v", err)
	}
	older, err := strconv.ParseInt(os.Args[3], 10, 64)
	if err != nil {
		fail("older size: %v", err)
	}

	msg := get("/ledger/checkpoint")
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint text %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("tree size %q", lines[1])
	}
	tree := tlog.Tree{N: size, Hash: hash(lines[2])}
	thr := tlog.TileHashReader(tree, tiles{})
	if h, err := tlog.TreeHash(size, thr); err != nil || h != tree.Hash {
		fail("tree hash from tiles: %v %v", h, err)
	}

	// The entries tiles: leaf hash = RecordHash(entry).
	var leaves []tlog.Hash
	for start := int64(0); start < size; start += 256 {
		w := size - start
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: 0, N: start / 256, W: int(w)}
		bundle := get("/ledger/" + strings.Replace(t.Path(), "tile/8/0/", "tile/entries/", 1))
		for len(bundle) > 0 {
			l := int(bundle[0])<<8 | int(bundle[1])
			leaves = append(leaves, tlog.RecordHash(bundle[2:2+l]))
			bundle = bundle[2+l:]
		}
	}
	if int64(len(leaves)) != size {
		fail("entries tiles hold %d entries, tree has %d", len(leaves), size)
	}

	checked := 0
	for i := int64(0); i < size; i++ {
		if size > 600 && i > 300 && i < size-300 && i%97 != 0 {
			continue
		}
		var proof struct {
			LeafHash string   `json:"leaf_hash"`
			RootHash string   `json:"root_hash"`
			Hashes   []string `json:"hashes"`
		}
		body := get(fmt.Sprintf("/ledger/proof/inclusion?index=%d&tree_size=%d", i, size))
		if err := json.Unmarshal(body, &proof); err != nil {
			fail("inclusion proof: %v", err)
		}
		if hash(proof.LeafHash) != leaves[i] {
			fail("leaf %d: proof leaf hash differs from the entries tile", i)
		}
		var p tlog.RecordProof
		for _, h := range proof.Hashes {
			p = append(p, hash(h))
		}
		if err := tlog.CheckRecord(p, size, tree.Hash, i, leaves[i]); err != nil {
			fail("leaf %d: JSON inclusion proof: %v", i, err)
		}
		own, err := tlog.ProveRecord(size, i, thr)
		if err != nil {
			fail("leaf %d: proof from tiles: %v", i, err)
		}
		if err := tlog.CheckRecord(own, size, tree.Hash, i, leaves[i]); err != nil {
			fail("leaf %d: tile inclusion proof: %v", i, err)
		}
		checked++
	}

	if older > 0 && older <= size {
		var proof struct {
			FirstRoot string   `json:"first_root_hash"`
			Hashes    []string `json:"hashes"`
		}
		body := get(fmt.Sprintf("/ledger/proof/consistency?first=%d&second=%d", older, size))
		if err := json.Unmarshal(body, &proof); err != nil {
			fail("consistency proof: %v", err)
		}
		oldHash, err := tlog.TreeHash(older, thr)
		if err != nil || oldHash != hash(proof.FirstRoot) {
			fail("older root: %v", err)
		}
		var p tlog.TreeProof
		for _, h := range proof.Hashes {
			p = append(p, hash(h))
		}
		if err := tlog.CheckTree(p, size, tree.Hash, older, oldHash); err != nil {
			fail("JSON consistency proof %d -> %d: %v", older, size, err)
		}
		own, err := tlog.ProveTree(size, older, thr)
		if err != nil {
			fail("consistency from tiles: %v", err)
		}
		if err := tlog.CheckTree(own, size, tree.Hash, older, oldHash); err != nil {
			fail("tile consistency proof: %v", err)
		}
	}
	fmt.Printf("ok: tree size %d, %d inclusion proofs, consistency from %d\n", size, checked, older)
}

package checkpoint_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

func TestPackRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		blobs []checkpoint.Blob
	}{
		{"none", nil},
		{"one full", []checkpoint.Blob{{Version: 1, Data: []byte(`["a"]`)}}},
		{"chain", []checkpoint.Blob{
			{Version: 1, Data: []byte(`["a"]`)},
			{Version: 2, Base: 1, Data: []byte(`["b"]`)},
			{Version: 7, Base: 2, Data: []byte(`[]`)},
			{Version: 1 << 40, Base: 7, Data: bytes.Repeat([]byte("x"), 300)},
		}},
		{"empty data and a base not older", []checkpoint.Blob{
			{Version: 3, Base: -1, Data: []byte{}},
			{Version: 4, Base: 9, Data: []byte("[1]")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := checkpoint.Blob{Field: "other", Version: 99}
			pack := checkpoint.AppendPack([]byte("keep"), tt.blobs)
			if !bytes.HasPrefix(pack, []byte("keep")) {
				t.Fatalf("AppendPack dropped dst: %q", pack)
			}
			got, err := checkpoint.UnpackBlobs([]checkpoint.Blob{prefix}, "list", pack[4:])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.blobs)+1 || got[0].Field != "other" {
				t.Fatalf("got %d blobs (first %+v), want %d after the one given", len(got), got[0], len(tt.blobs))
			}
			for i, want := range tt.blobs {
				g := got[i+1]
				if g.Field != "list" || g.Version != want.Version || g.Base != want.Base || !bytes.Equal(g.Data, want.Data) {
					t.Errorf("blob %d: got %+v, want %+v", i, g, want)
				}
			}
		})
	}
}

func TestUnpackRefusesMalformed(t *testing.T) {
	good := checkpoint.AppendPack(nil, []checkpoint.Blob{{Version: 1, Data: []byte("[1]")}, {Version: 2, Base: 1, Data: []byte("[2]")}})
	tests := map[string][]byte{
		"empty":            nil,
		"unknown format":   append([]byte{9}, good[1:]...),
		"cut short":        good[:len(good)-1],
		"trailing bytes":   append(append([]byte{}, good...), 0),
		"huge count":       {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"version zero":     checkpoint.AppendPack(nil, []checkpoint.Blob{{Version: 0}}),
		"versions reverse": checkpoint.AppendPack(nil, []checkpoint.Blob{{Version: 2}, {Version: 1}}),
		"versions repeat":  checkpoint.AppendPack(nil, []checkpoint.Blob{{Version: 2}, {Version: 2}}),
	}
	for name, pack := range tests {
		t.Run(name, func(t *testing.T) {
			dst := []checkpoint.Blob{{Field: "kept"}}
			got, err := checkpoint.UnpackBlobs(dst, "f", pack)
			if !errors.Is(err, checkpoint.ErrPack) {
				t.Fatalf("err = %v, want ErrPack", err)
			}
			if len(got) != 1 || got[0].Field != "kept" {
				t.Fatalf("dst changed: %+v", got)
			}
		})
	}
}

// FuzzUnpackBlobs: any stored bytes unpack without a panic, and what
// unpacks packs again to the same blobs (not always the same bytes: a
// uvarint may be written longer than it needs).
func FuzzUnpackBlobs(f *testing.F) {
	f.Add(checkpoint.AppendPack(nil, nil))
	f.Add(checkpoint.AppendPack(nil, []checkpoint.Blob{{Version: 1, Data: []byte(`["a"]`)}, {Version: 5, Base: 1, Data: []byte(`["b"]`)}}))
	f.Add([]byte{1, 3, 1, 0, 0})
	f.Fuzz(func(t *testing.T, pack []byte) {
		got, err := checkpoint.UnpackBlobs(nil, "f", pack)
		if err != nil {
			if !errors.Is(err, checkpoint.ErrPack) || got != nil {
				t.Fatalf("err %v with %d blobs", err, len(got))
			}
			return
		}
		again, err := checkpoint.UnpackBlobs(nil, "f", checkpoint.AppendPack(nil, got))
		if err != nil || len(again) != len(got) {
			t.Fatalf("repacked: %d blobs, %v; was %d", len(again), err, len(got))
		}
		for i := range got {
			a, b := again[i], got[i]
			if a.Version != b.Version || a.Base != b.Base || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("blob %d: repacked %+v, was %+v", i, a, b)
			}
		}
	})
}

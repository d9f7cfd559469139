package langgraph_test

import (
	"net/url"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

type storeItemBody struct {
	Namespace []string       `json:"namespace"`
	Key       string         `json:"key"`
	Value     map[string]any `json:"value"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
}

// TestStoreAPI: items are put, got, replaced, searched by namespace
// prefix and value filter, listed by namespace, and deleted; over every
// store, one without records, and across a restart.
func TestStoreAPI(t *testing.T) {
	check := func(t *testing.T, open func() (checkpoint.Store, checkpoint.Store)) {
		st, hs := open()
		srv := eventServer(t, st, hs)
		get := func(ns, key string, out any) {
			t.Helper()
			call(t, srv, "GET", "/store/items?"+url.Values{"namespace": {ns}, "key": {key}}.Encode(), nil, 200, out)
		}
		call(t, srv, "PUT", "/store/items", map[string]any{"namespace": []string{"users", "ann"}, "key": "prefs", "value": map[string]any{"theme": "dark", "size": 3}}, 204, nil)
		call(t, srv, "PUT", "/store/items", map[string]any{"namespace": []string{"users", "bob"}, "key": "prefs", "value": map[string]any{"theme": "light"}}, 204, nil)
		call(t, srv, "PUT", "/store/items", map[string]any{"namespace": []string{"users", "ann", "notes"}, "key": "n1", "value": map[string]any{"text": "hi", "theme": "dark"}}, 204, nil)
		call(t, srv, "PUT", "/store/items", map[string]any{"namespace": []string{"docs"}, "key": "d", "value": map[string]any{"v": 1}}, 204, nil)
		call(t, srv, "PUT", "/store/items", map[string]any{"namespace": []string{}, "key": "x", "value": map[string]any{}}, 422, nil)
		call(t, srv, "PUT", "/store/items", map[string]any{"namespace": []string{"a.b"}, "key": "x", "value": map[string]any{}}, 422, nil)
		call(t, srv, "PUT", "/store/items", map[string]any{"namespace": []string{"a"}, "key": "x", "value": "not an object"}, 422, nil)
		var it storeItemBody
		get("users.ann", "prefs", &it)
		if it.Key != "prefs" || len(it.Namespace) != 2 || it.Value["theme"] != "dark" || it.CreatedAt == "" {
			t.Fatalf("item = %+v", it)
		}
		var none any = "unset"
		get("users.ann", "nope", &none)
		if none != nil {
			t.Fatalf("a missing item = %v, want null", none)
		}
		// Replaced: created_at kept.
		call(t, srv, "PUT", "/store/items", map[string]any{"namespace": []string{"users", "ann"}, "key": "prefs", "value": map[string]any{"theme": "blue"}}, 204, nil)
		var again storeItemBody
		get("users.ann", "prefs", &again)
		if again.Value["theme"] != "blue" || again.CreatedAt != it.CreatedAt || again.Value["size"] != nil {
			t.Fatalf("replaced item = %+v (was %+v)", again, it)
		}

		var res struct {
			Items []storeItemBody `json:"items"`
		}
		call(t, srv, "POST", "/store/items/search", map[string]any{"namespace_prefix": []string{"users"}}, 200, &res)
		if len(res.Items) != 3 {
			t.Fatalf("search users = %+v", res.Items)
		}
		call(t, srv, "POST", "/store/items/search", map[string]any{"namespace_prefix": []string{"users", "ann"}, "filter": map[string]any{"theme": "dark"}}, 200, &res)
		if len(res.Items) != 1 || res.Items[0].Key != "n1" {
			t.Fatalf("search users.ann theme dark = %+v", res.Items)
		}
		call(t, srv, "POST", "/store/items/search", map[string]any{"namespace_prefix": []string{"users", "*"}, "limit": 1, "offset": 1}, 200, &res)
		if len(res.Items) != 1 {
			t.Fatalf("search paged = %+v", res.Items)
		}
		call(t, srv, "POST", "/store/items/search", map[string]any{"query": "semantic"}, 422, nil)

		var nss struct {
			Namespaces [][]string `json:"namespaces"`
		}
		call(t, srv, "POST", "/store/namespaces", map[string]any{}, 200, &nss)
		if len(nss.Namespaces) != 4 {
			t.Fatalf("namespaces = %v", nss.Namespaces)
		}
		call(t, srv, "POST", "/store/namespaces", map[string]any{"prefix": []string{"users"}, "max_depth": 2}, 200, &nss)
		if len(nss.Namespaces) != 2 || nss.Namespaces[0][1] != "ann" || nss.Namespaces[1][1] != "bob" {
			t.Fatalf("namespaces users depth 2 = %v", nss.Namespaces)
		}
		call(t, srv, "POST", "/store/namespaces", map[string]any{"suffix": []string{"notes"}}, 200, &nss)
		if len(nss.Namespaces) != 1 || len(nss.Namespaces[0]) != 3 {
			t.Fatalf("namespaces ending in notes = %v", nss.Namespaces)
		}

		call(t, srv, "DELETE", "/store/items", map[string]any{"namespace": []string{"users", "bob"}, "key": "prefs"}, 204, nil)
		call(t, srv, "DELETE", "/store/items", map[string]any{"namespace": []string{"users", "bob"}, "key": "prefs"}, 204, nil)
		none = "unset"
		get("users.bob", "prefs", &none)
		if none != nil {
			t.Fatalf("a deleted item = %v", none)
		}
		srv.Close()
		if _, durable := hs.(checkpoint.Records); !durable {
			return
		}
		// A restarted server has them.
		st, hs = open()
		srv = eventServer(t, st, hs)
		var after storeItemBody
		get("users.ann", "prefs", &after)
		if after.Value["theme"] != "blue" {
			t.Fatalf("after the restart = %+v", after)
		}
	}
	durableStores(t, func(t *testing.T, open func() checkpoint.Store) {
		check(t, func() (checkpoint.Store, checkpoint.Store) { st := open(); return st, st })
	})
	t.Run("memstore", func(t *testing.T) {
		mem := memstore.New()
		check(t, func() (checkpoint.Store, checkpoint.Store) { return mem, mem })
	})
	t.Run("recordless", func(t *testing.T) {
		mem := memstore.New()
		check(t, func() (checkpoint.Store, checkpoint.Store) { return mem, recordless{mem} })
	})
}

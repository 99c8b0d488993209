package jellyfish_test

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/jellyfish-go/jellyfish"

// forbidden lists, per package of ours (by path relative to the module; "." is the root), the
// imports it must never have: STYLE.md's dependency table, checked rather than only written.
// A prefix ending in "/" forbids a whole subtree.
var forbidden = map[string][]string{
	"rtc":              {module, module + "/signaling", module + "/server", module + "/component/", "github.com/coder/websocket", "net/http"},
	".":                {module + "/signaling", module + "/server", module + "/component/", "github.com/coder/websocket", "net/http"},
	"signaling":        {module + "/rtc", module + "/server"},
	"signaling/wire":   {module + "/"},
	"server":           {module + "/rtc"},
	"serversdk":        {module, module + "/rtc", module + "/server", module + "/signaling", module + "/metrics"},
	"clientsdk":        {module, module + "/rtc", module + "/server", module + "/signaling"},
	"metrics":          {module + "/signaling", module + "/server", module + "/rtc"},
	"internal/rtctest": {module + "/"},
}

// prefixRules apply to every package under a directory.
var prefixRules = map[string][]string{
	"component/": {module + "/signaling", module + "/server", module + "/cmd/"},
	"examples/":  {module + "/rtc", module + "/internal/"},
}

func TestArchitecture(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel := filepath.ToSlash(path)
		rules := forbidden[rel]
		for prefix, r := range prefixRules {
			if strings.HasPrefix(rel+"/", prefix) {
				rules = append(rules, r...)
			}
		}
		for _, imp := range pkg.Imports { // non-test imports only: tests may wire anything
			if strings.HasPrefix(imp, module+"/cmd/") || (imp == module+"/cmd") {
				t.Errorf("%s imports %s: nothing imports cmd", rel, imp)
			}
			for _, bad := range rules {
				if imp == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(imp, bad)) {
					t.Errorf("%s imports %s, which STYLE.md forbids", rel, imp)
				}
			}
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 6 {
		t.Fatalf("checked %d packages; the walk missed the tree", checked)
	}
}

package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestZonefileSignConfigErrors: what the signing options of a zonefile
// zone refuse, with the configuration's line.
func TestZonefileSignConfigErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.zone")
	os.WriteFile(good, []byte(zonefileTestZone), 0o644)
	keys, _ := filepath.Abs("../../authority/testdata/keys/ecdsa")
	for _, c := range []struct{ config, want string }{
		{"modules = { zonefile = { {name = 'example.test', file = '" + good + "', denial = 'black'} } }", "denial"},
		{"modules = { zonefile = { {name = 'example.test', file = '" + good + "', denial = 'compact'} } }", "without keys"},
		{"modules = { zonefile = { {name = 'example.test', file = '" + good + "', keys = '" + dir + "/Knone.private'} } }", "Knone.private"},
		{"modules = { zonefile = { {name = 'example.test', file = '" + good + "', key_dir = '" + keys + "'} } }", "no private keys"},
	} {
		err := loadErr(t, "\n"+c.config+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "config:2") {
			t.Errorf("%s:\n error %v\n want %q and config:2", c.config, err, c.want)
		}
	}
}

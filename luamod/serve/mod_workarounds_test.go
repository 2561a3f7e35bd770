package serve

import "testing"

// TestWorkaroundsModule: modules = {'workarounds'} loads (kresd's config()
// accepted) and lists the module.
func TestWorkaroundsModule(t *testing.T) {
	r := newRig(t, 1, "modules = {'workarounds'}\nworkarounds.config()\n", nil)
	if got := r.eval(0, "for _, m in ipairs(modules.list()) do if m == 'workarounds' then return 'yes' end end return 'no'"); got != "yes" {
		t.Errorf("modules.list(): %q", got)
	}
}

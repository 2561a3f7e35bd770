package dns

import "testing"

// Reference values from the canonical C implementation (SMHasher's
// MurmurHash3.cpp), as widely published.
func TestMurmur3(t *testing.T) {
	tests := []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514E28B7},
		{"", 0xffffffff, 0x81F16F39},
		{"\x00\x00\x00\x00", 0, 0x2362F9DE},
		{"aaaa", 0x9747b28c, 0x5A97808A},
		{"abc", 0, 0xB3DD93FA},
		{"Hello, world!", 0x9747b28c, 0x24884CBA},
		{"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2FA826CD},
	}
	for _, tc := range tests {
		if got := Murmur3x86_32([]byte(tc.in), tc.seed); got != tc.want {
			t.Errorf("x86_32(%q, %#x) = %#x, want %#x", tc.in, tc.seed, got, tc.want)
		}
	}
	h1, h2 := Murmur3x64_128([]byte("The quick brown fox jumps over the lazy dog"), 0)
	if h1 != 0xe34bbc7bbc071b6c || h2 != 0x7a433ca9c49a9347 {
		t.Errorf("x64_128 = %x %x", h1, h2)
	}
	h1, h2 = Murmur3x64_128([]byte("hello"), 0)
	if h1 != 0xcbd8a7b341bd9b02 || h2 != 0x5b1e906a48ae1d19 {
		t.Errorf("x64_128(hello) = %x %x", h1, h2)
	}
}

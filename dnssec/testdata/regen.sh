#!/bin/sh
# regen.sh — regenerate the DNSSEC sample keys of spec/helper.lua with
# tools other than ljdns: OpenSSL makes the keys and the reference
# signatures, ldns-key2ds (ldnsutils) computes the key tags and DS digests,
# python3 only re-encodes bytes (DER -> raw DNSKEY fields, Lua escapes).
#
# Usage: sh dnssec/testdata/regen.sh > /tmp/sample_keys.lua
# then paste the printed table into spec/helper.lua (see README.md).
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
msg='Very good, young padawan.'
printf '%s' "$msg" > input.txt

# Keys: PKCS#8 PEM.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ecdsa.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out rsa.pem 2>/dev/null

# Public keys (DER SubjectPublicKeyInfo) and reference signatures.
for k in ecdsa rsa; do
	openssl pkey -in $k.pem -pubout -outform DER -out $k.spki 2>/dev/null
	openssl dgst -sha256 -sign $k.pem -out $k.sig input.txt
done

python3 - "$dir" <<'EOF'
import base64, hashlib, subprocess, sys, os
d = sys.argv[1]
owner_text = 'example.com.'
owner_wire = b'\x07example\x03com\x00'

def der_items(b):
    """Parse a DER SEQUENCE body into (tag, value) pairs."""
    out, i = [], 0
    while i < len(b):
        tag = b[i]; i += 1
        l = b[i]; i += 1
        if l & 0x80:
            n = l & 0x7f
            l = int.from_bytes(b[i:i+n], 'big'); i += n
        out.append((tag, b[i:i+l])); i += l
    return out

def seq(b):
    tag, v = der_items(b)[0]
    assert tag == 0x30
    return der_items(v)

def raw_pub(kind, spki):
    alg, bits = seq(spki)
    key = bits[1][1:]          # drop the BIT STRING unused-bits byte
    if kind == 'ecdsa':
        assert key[0] == 4
        return key[1:], 256
    n, e = [v for _, v in seq(key)]
    n = n.lstrip(b'\0'); e = e.lstrip(b'\0')
    assert len(e) < 256
    return bytes([len(e)]) + e + n, len(n) * 8

def raw_sig(kind, sig):
    if kind == 'rsa':
        return sig
    r, s = [v.lstrip(b'\0').rjust(32, b'\0') for _, v in seq(sig)]
    return r + s

def lua(b):
    return "'" + ''.join('\\%03d' % c if c < 32 or c > 126 or c in b"'\\" else chr(c) for c in b) + "'"

keys = {}
for kind, alg in (('ecdsa', 13), ('rsa', 8)):
    spki = open(os.path.join(d, kind + '.spki'), 'rb').read()
    pub, bits = raw_pub(kind, spki)
    flags, proto = 256, 3
    rdata = flags.to_bytes(2, 'big') + bytes([proto, alg]) + pub
    rr = '%s 3600 IN DNSKEY %d %d %d %s\n' % (owner_text, flags, proto, alg, base64.b64encode(pub).decode())
    kf = os.path.join(d, '%s.key' % kind)
    open(kf, 'w').write(rr)
    ds = {}
    for opt, dt in (('-1', 1), ('-2', 2), ('-4', 4)):
        out = subprocess.run(['ldns-key2ds', '-f', '-n', opt, kf], check=True, capture_output=True, text=True).stdout.split()
        tag, dalg, dtype, digest = int(out[4]), int(out[5]), int(out[6]), ''.join(out[7:])
        assert dtype == dt and dalg == alg
        ds[dt] = tag.to_bytes(2, 'big') + bytes([alg, dt]) + bytes.fromhex(digest)
    sig = raw_sig(kind, open(os.path.join(d, kind + '.sig'), 'rb').read())
    pem = open(os.path.join(d, kind + '.pem')).read()
    print('\t%s = {' % kind)
    print('\t\tname = %s,' % lua(owner_wire))
    print('\t\tflags = %d,' % flags)
    print('\t\tprotocol = %d,' % proto)
    print('\t\talgorithm = %d,' % alg)
    print('\t\tpublic_key = %s,' % lua(pub))
    print('\t\trdata = %s,' % lua(rdata))
    print('\t\tkeytag = %d,' % tag)
    print("\t\tkey_id = '%s'," % hashlib.sha1(spki).hexdigest())
    print('\t\tds_sha1 = %s,' % lua(ds[1]))
    print('\t\tds_sha256 = %s,' % lua(ds[2]))
    print('\t\tds_sha384 = %s,' % lua(ds[4]))
    print('\t\tbit_size = %d,' % bits)
    print('\t\tpem = [[\n%s]],' % pem)
    print("\t\tinput = 'Very good, young padawan.',")
    print('\t\toutput = %s,' % lua(sig))
    print('\t\t-- DNSKEY: %s' % rr.strip())
    print('\t},')
EOF

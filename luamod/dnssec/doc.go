// Package dnssec implements the Lua module dns.dnssec of ljdns (API.md
// §2.7): DNSSEC keys, an on-line signer/verifier and NSEC denial of
// existence. The crypto and wire logic is the Lua-free package ljdns/dnssec;
// lua_*.go and module.go only bind it.
//
// Lua API (errors: misuse raises, failures return nil, err):
//
//	dnssec.algo, .state, .action              name -> number tables
//	dnssec.tostring.algo/.state/.action       number -> name
//	dnssec.key() -> key                       flags 256, protocol 3, algorithm 0
//	key:algo([n]) -> n | nil, err             5 7 8 10 13 14 15; 16 (Ed448) unsupported
//	key:flags([n]), key:protocol([n]) -> n | nil, err
//	key:ksk(), key:zsk() -> boolean           flags == 257 / 256
//	key:name([dname]) -> dname | nil
//	key:pubkey([raw [, len]]) -> true | nil, err; getter -> raw | nil
//	key:rdata([rdata [, len]]) -> true | nil, err; getter -> DNSKEY RDATA
//	key:privkey(text [, len]) -> true | nil, err
//	                                          PEM (PKCS#8, PKCS#1, SEC 1) or BIND
//	                                          Private-key-format; getter -> PKCS#8 PEM
//	key:tag() -> n; tostring(key) -> tag text
//	key:ds([digest_type]) -> DS RDATA | nil, err   1 SHA-1, 2 SHA-256 (default), 4 SHA-384
//	key:id() -> hex SHA-1 of the DER public key (Knot key ID); key:bits() -> n
//	key:can_sign(), key:can_verify() -> boolean
//	dnssec.signer(key) -> signer | nil, err   nothing for nil; raises for a non-key
//	signer.algo, signer.tag
//	signer:reset(), signer:add(bytes [, len] | rrset) -> true
//	signer:get() -> signature | nil, err
//	signer:verify(signature [, len]) -> true | nil, err
//	signer:verify(rr, rrsig [, now]) -> true | nil, err
//	signer:sign(rr [, expire [, incept [, signer_name]]]) -> RRSIG rrset | nil, err
//	dnssec.denial(name, type [, ttl] [, nxdomain]) -> NSEC rrset (black lie)
//	dnssec.denial(name, type, {ttl=, nxdomain=, cover=, types=, next=}) -> NSEC rrset
//	dnssec.cover(name [, ttl]) -> NSEC rrset | nil, err   (RFC 4470 white lie)
//	dns.rdata.rrsig_signature(rd), dns.rdata.dnskey(flags, proto, alg, key [, len])
//
// See README.md for the details and examples.
package dnssec

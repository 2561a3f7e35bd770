-- spec/helper.lua: loaded once before the specs (see .busted) and by
-- examples/bench.lua through require('spec.helper').
--
-- Globals:
--   bytes(t)     pack an array of byte values into a string
--   sample_keys  DNSSEC test keys { ecdsa = {...}, rsa = {...} }: an ECDSA
--                P-256 (algorithm 13) and an RSA-512 (algorithm 8) zone key
--                for example.com. Each holds name (wire), flags, protocol,
--                algorithm, public_key (raw DNSKEY key field), rdata (DNSKEY
--                RDATA), keytag, key_id (SHA-1 of the DER public key),
--                ds_sha1/ds_sha256/ds_sha384 (DS RDATA), bit_size, pem
--                (PKCS#8 private key), input and output (a signature of
--                input made by OpenSSL, in DNSSEC wire format).
-- The keys and every derived value were made with OpenSSL and ldns-key2ds,
-- not with ljdns: dnssec/testdata/regen.sh (see its README.md).

function bytes(t)
	return string.char(unpack(t))
end

sample_keys = {
	ecdsa = {
		name = '\007example\003com\000',
		flags = 256,
		protocol = 3,
		algorithm = 13,
		public_key = '\174\194VG\249\240\186|"Y"v\242C\211M3\135\226\131\230F\232\127&\018\015\225X\244\238"\013\000\242\165\161\172\177$3\244\006\019\024\207\141\027\008I\218\198\024\201hj\220\255e\024\139\252)\143',
		rdata = '\001\000\003\013\174\194VG\249\240\186|"Y"v\242C\211M3\135\226\131\230F\232\127&\018\015\225X\244\238"\013\000\242\165\161\172\177$3\244\006\019\024\207\141\027\008I\218\198\024\201hj\220\255e\024\139\252)\143',
		keytag = 47122,
		key_id = '07984af6cf9550437bd96c20b0c89cce3332664e',
		ds_sha1 = '\184\018\013\001V\027\146\161\207V\188\246*\010\190\031\207\150\170\2207\225r\169',
		ds_sha256 = '\184\018\013\002$\175\233$>\248\005\235 \215y\216\172\212\013\226\235\018\1912e\013\008R\179k\250\2110\238\031a',
		ds_sha384 = '\184\018\013\004uZ\181\1433\178\004\024)\143p\129y\194\216\2363.\153\025u\230\191\247\092\174\148\182\239"\212\191\215\243\127\169B\012\092l\168I\012E\239\021*M',
		bit_size = 256,
		pem = [[
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDZcwbznuDxZ4vjNL
pPGUBV8JQBi08m/cuELRm1Qv4EOhRANCAASuwlZH+fC6fCJZInbyQ9NNM4fig+ZG
6H8mEg/hWPTuIg0A8qWhrLEkM/QGExjPjRsISdrGGMloatz/ZRiL/CmP
-----END PRIVATE KEY-----
]],
		input = 'Very good, young padawan.',
		output = '\167K\202\020\254`a\162\027c\205\226\223\233\180\022\005C@F\224\148\238\13104In\180#t\183M\005\022f\164\162\199\252\022\145_\238\170\214S\226\161\148P+\019E=>$\152\171CI\230j\004',
		-- DNSKEY: example.com. 3600 IN DNSKEY 256 3 13 rsJWR/nwunwiWSJ28kPTTTOH4oPmRuh/JhIP4Vj07iINAPKloayxJDP0BhMYz40bCEnaxhjJaGrc/2UYi/wpjw==
	},
	rsa = {
		name = '\007example\003com\000',
		flags = 256,
		protocol = 3,
		algorithm = 8,
		public_key = '\003\001\000\001\186a4v\012\148\153\216\220\178\131\195\0244 \010\137i;\027\130#l\196\154`)\203\173Z/\127\249\151\008\167p}\1986*oR\206\011\230)o3\020\024\195\217\138;\237p\024\138\029\030\020{\011',
		rdata = '\001\000\003\008\003\001\000\001\186a4v\012\148\153\216\220\178\131\195\0244 \010\137i;\027\130#l\196\154`)\203\173Z/\127\249\151\008\167p}\1986*oR\206\011\230)o3\020\024\195\217\138;\237p\024\138\029\030\020{\011',
		keytag = 27040,
		key_id = '002534c1b16dc69c95f0d49b12d5c6ce47eb5123',
		ds_sha1 = 'i\160\008\001\242\019s\208]\020\136\233\221\011\181d{\018E\039#\014\212\217',
		ds_sha256 = 'i\160\008\002<U\010\170P\136<PR\162\205\201]<\187A\213"\241%\1695\156\146R\007=\176\182.7g',
		ds_sha384 = 'i\160\008\0040qky\132\199\234\170\010K+\186\199\233ph_\186q\251o\216\203\127\223ln\206|\196\238\163+\218\171(y\023\016\169\180V\190\250\239\022\202\243',
		bit_size = 512,
		pem = [[
-----BEGIN PRIVATE KEY-----
MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAumE0dgyUmdjcsoPD
GDQgColpOxuCI2zEmmApy61aL3/5lwincH3GNipvUs4L5ilvMxQYw9mKO+1wGIod
HhR7CwIDAQABAkAE+g+Cj3dwXEAYbDhLbyjj3yN2NpfVBlSBosu66pgb6I00OwqR
4k70yKUJBt9c4nuZkLF5BV736yQqBef9Mk2RAiEA78pyKoWGrkCv6Xgra/HuUAxd
f+hx38tfdOstKIJIJRUCIQDG+nxU/iV9Ukg6IEfe5HRlEZrxjEmIUBAp0XxCRXJn
nwIhAKAJ4cB3dbf+/Gk6BuD4izFpz016+eV/eqox++W5biUxAiEAmIgmTYUxufsc
kSpzzeL1cxDm5Sn0qIEvks8a4TaZd+MCICvBbOl6AZvDd+W62+g862Dnvwo97ADv
TtLJPepLEv4G
-----END PRIVATE KEY-----
]],
		input = 'Very good, young padawan.',
		output = '2\193&\018\182JPi\227\092\007\235\1771\007\201Z-b\092ouwG\251\212\238x7Z^t\133\222<$\013o\159\211\135_(/\252\202P \010\2538\015|\218\155\193b\224\196\251\226\031\025\025',
		-- DNSKEY: example.com. 3600 IN DNSKEY 256 3 8 AwEAAbphNHYMlJnY3LKDwxg0IAqJaTsbgiNsxJpgKcutWi9/+ZcIp3B9xjYqb1LOC+YpbzMUGMPZijvtcBiKHR4Uews=
	},
}

return sample_keys

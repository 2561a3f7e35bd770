-- bench_dnssec.lua: DNSSEC sign and verify throughput per algorithm.
--
-- Usage: ljdns examples/bench_dnssec.lua [N]   (run from the repository root)
--
-- Signs N (default 20000) distinct A RRsets of two records each with
-- signer:sign(rr), then verifies each with signer:verify(rr, rrsig), as
-- examples/bench.lua does, for the sample keys of spec/helper.lua
-- (ECDSA P-256 and RSA-512) and for extra keys from
-- dnssec/testdata (RSA-2048, ECDSA P-384, Ed25519).
-- Prints ops/sec over wall-clock time (nb.now()) and, on Linux, over the
-- process CPU time (/proc/self/stat utime+stime, 10 ms ticks), which is the
-- fairer figure on a loaded machine.
if arg[1] == '-h' or arg[1] == '--help' then
	print('Usage: bench_dnssec.lua [N]   (default 20000; run from the repository root)')
	os.exit(0)
end
package.path = './?.lua;' .. package.path
require('spec.helper')
local dns = require('dns')
local dnssec = require('dns.dnssec')
local ok, nb = pcall(require, 'dns.nbio')
local now = ok and nb.now or os.time

local n = tonumber(arg and arg[1]) or 20000

local function readfile(path)
	local f = io.open(path)
	if not f then return nil end
	local s = f:read('*a')
	f:close()
	return s
end

local keys = {
	{'ecdsa', sample_keys.ecdsa.algorithm, sample_keys.ecdsa.pem},
	{'rsa', sample_keys.rsa.algorithm, sample_keys.rsa.pem},
	-- the slow ones run a tenth of the operations
	{'rsa2048', dnssec.algo.rsa_sha256, readfile('dnssec/testdata/rsa2048.pem'), 10},
	{'ecdsa384', dnssec.algo.ecdsa_p384_sha384, readfile('dnssec/testdata/p384.pem'), 10},
	{'ed25519', dnssec.algo.ed25519, readfile('dnssec/testdata/ed25519.pem')},
}

-- N distinct RRsets: <i>.example.com A 192.0.2.x (two records).
local sets = {}
for i = 1, n do
	local rr = dns.rrset(dns.dname.parse(i .. '.example.com'), dns.type.A)
	rr:add(string.char(192, 0, 2, i % 256), 3600)
	rr:add(string.char(192, 0, 3, i % 256))
	sets[i] = rr
end

-- cpu returns the process CPU time in seconds, or nil.
local function cpu()
	local f = io.open('/proc/self/stat')
	if not f then return nil end
	local stat = f:read('*a')
	f:close()
	-- fields after the parenthesised command name; utime and stime are 14, 15
	local rest = stat:match('%) (.*)$')
	if not rest then return nil end
	local fields = {}
	for v in rest:gmatch('%S+') do table.insert(fields, v) end
	return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end

local function rate(count, wall, cpu0)
	local s = string.format('%d ops/sec', count / wall)
	local c1 = cpu0 and cpu()
	if c1 and c1 > cpu0 then
		s = s .. string.format(' (%d ops/cpu-sec)', count / (c1 - cpu0))
	end
	return s
end

for _, k in ipairs(keys) do
	local name, algo, pem = k[1], k[2], k[3]
	local n = math.max(1, math.floor(n / (k[4] or 1)))
	if not pem then
		print(name .. ': key file missing, skipped')
	else
		local key = dnssec.key()
		assert(key:algo(algo))
		assert(key:privkey(pem))
		print(string.format('%s algorithm %d (%d bits)', name, algo, key:bits()))
		local signer = assert(dnssec.signer(key))
		local sigs = {}
		local t, c = now(), cpu()
		for i = 1, n do
			sigs[i] = assert(signer:sign(sets[i]))
		end
		print(string.format('%s sign: %s', name, rate(n, now() - t, c)))
		local verifier = assert(dnssec.signer(key))
		t, c = now(), cpu()
		for i = 1, n do
			assert(verifier:verify(sets[i], sigs[i]))
		end
		print(string.format('%s verify: %s', name, rate(n, now() - t, c)))
	end
end

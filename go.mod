module ljdns

go 1.26.8

godebug rsa1024min=0

require (
	github.com/chzyer/readline v1.5.1
	github.com/miekg/dns v1.1.73
	github.com/yuin/gopher-lua v1.1.2
	go.etcd.io/bbolt v1.5.0
	golang.org/x/net v0.57.0
	golang.org/x/sys v0.49.0
)

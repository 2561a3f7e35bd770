package compat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// httpServerTypeName is the registry name of http.server objects.
const httpServerTypeName = "http.server"

// defaultHTTPTimeout bounds a whole client request unless a timeout is given.
const defaultHTTPTimeout = 30 * time.Second

// httpLoader opens the http module: a blocking client over net/http and a
// small fixed-response server for tests.
func httpLoader(L *lua.LState) int {
	registerHTTPServer(L)
	L.Push(luabind.NewModule(L, "http", httpExports))
	return 1
}

var httpExports = map[string]lua.LGFunction{
	"get": func(L *lua.LState) int { // get(url [, headers [, timeout]])
		return httpDo(L, "GET", L.CheckString(1), "", L.Get(2), L.Get(3))
	},
	"request": func(L *lua.LState) int { // request(method, url [, body [, headers [, timeout]]])
		body := ""
		if L.Get(3) != lua.LNil {
			body = string(luabind.CheckBytes(L, 3, 0))
		}
		return httpDo(L, strings.ToUpper(L.CheckString(1)), L.CheckString(2), body, L.Get(4), L.Get(5))
	},
	"server": httpServe,
}

// headerTable converts a Lua table of name → value (string or number) to
// an http.Header.
func headerTable(L *lua.LState, n int, v lua.LValue) http.Header {
	h := http.Header{}
	switch t := v.(type) {
	case *lua.LNilType:
	case *lua.LTable:
		t.ForEach(func(k, val lua.LValue) {
			ks, ok := k.(lua.LString)
			if !ok {
				L.ArgError(n, "header names must be strings")
			}
			switch val.(type) {
			case lua.LString, lua.LNumber:
				h.Add(string(ks), lua.LVAsString(val))
			default:
				L.ArgError(n, "header values must be strings")
			}
		})
	default:
		L.ArgError(n, "headers table expected, got "+luabind.TypeName(v))
	}
	return h
}

// pushHeaders pushes a table of lower-case header names → values (joined
// with ", " when repeated).
func pushHeaders(L *lua.LState, h http.Header) {
	t := L.NewTable()
	for k, vs := range h {
		t.RawSetString(strings.ToLower(k), lua.LString(strings.Join(vs, ", ")))
	}
	L.Push(t)
}

// httpDo performs one request and pushes status, body, headers or nil, err.
func httpDo(L *lua.LState, method, url, body string, hdr, timeout lua.LValue) int {
	h := headerTable(L, 4, hdr)
	d := defaultHTTPTimeout
	if t, ok := timeout.(lua.LNumber); ok && t > 0 {
		d = time.Duration(float64(t) * float64(time.Second))
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return luabind.FailErr(L, "http", err)
	}
	req.Header = h
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return luabind.FailErr(L, "http", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return luabind.FailErr(L, "http", err)
	}
	L.Push(lua.LNumber(resp.StatusCode))
	L.Push(lua.LString(b))
	pushHeaders(L, resp.Header)
	return 3
}

// httpRoute is a fixed response of the test server.
type httpRoute struct {
	status  int
	body    string
	headers http.Header
	echo    bool // respond with the request body and X-Method
}

// httpRequest is a request the test server recorded.
type httpRequest struct {
	method, path, body string
	headers            http.Header
}

// HTTPServer is a small loopback HTTP server with fixed routes, for specs.
type HTTPServer struct {
	srv    *http.Server
	ln     net.Listener
	routes map[string]httpRoute
	mu     sync.Mutex
	log    []httpRequest
}

// ServeHTTP implements http.Handler: records the request, answers from the routes.
func (s *HTTPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	s.mu.Lock()
	s.log = append(s.log, httpRequest{r.Method, r.URL.RequestURI(), string(body), r.Header.Clone()})
	s.mu.Unlock()
	rt, ok := s.routes[r.URL.Path]
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	for k, vs := range rt.headers {
		w.Header()[k] = vs
	}
	if rt.echo {
		w.Header().Set("X-Method", r.Method)
		w.WriteHeader(rt.status)
		_, _ = w.Write(body)
		return
	}
	w.WriteHeader(rt.status)
	_, _ = io.WriteString(w, rt.body)
}

// httpServe implements http.server(addr, routes): routes maps a path to a
// body string or {status=, body=, headers=, echo=}. It returns a server
// object with .addr, .port, :url(path), :requests() and :close().
func httpServe(L *lua.LState) int {
	addr := L.OptString(1, "127.0.0.1:0")
	routes := map[string]httpRoute{}
	L.CheckTable(2).ForEach(func(k, v lua.LValue) {
		rt := httpRoute{status: 200, headers: http.Header{}}
		switch x := v.(type) {
		case lua.LString:
			rt.body = string(x)
		case *lua.LTable:
			if s, ok := x.RawGetString("status").(lua.LNumber); ok {
				rt.status = int(s)
			}
			rt.body = lua.LVAsString(x.RawGetString("body"))
			rt.echo = lua.LVAsBool(x.RawGetString("echo"))
			rt.headers = headerTable(L, 2, x.RawGetString("headers"))
		default:
			L.ArgError(2, "route must be a string or a table")
		}
		routes[lua.LVAsString(k)] = rt
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return luabind.FailErr(L, "http", err)
	}
	s := &HTTPServer{ln: ln, routes: routes}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	luabind.Push(L, httpServerTypeName, s)
	return 1
}

func checkHTTPServer(L *lua.LState, n int) *HTTPServer {
	return luabind.Check[*HTTPServer](L, n, httpServerTypeName)
}

func registerHTTPServer(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{Name: httpServerTypeName, Methods: httpServerMethods,
		Meta: map[string]lua.LGFunction{
			"__index": func(L *lua.LState) int {
				s := checkHTTPServer(L, 1)
				switch L.Get(2) {
				case lua.LString("addr"):
					L.Push(lua.LString(s.ln.Addr().String()))
				case lua.LString("port"):
					L.Push(lua.LNumber(s.ln.Addr().(*net.TCPAddr).Port))
				default:
					L.Push(luabind.Methods(L, httpServerTypeName).RawGet(L.Get(2)))
				}
				return 1
			},
			"__tostring": func(L *lua.LState) int {
				L.Push(lua.LString(fmt.Sprintf("http.server: %s", checkHTTPServer(L, 1).ln.Addr())))
				return 1
			},
		}})
}

var httpServerMethods = map[string]lua.LGFunction{
	"url": func(L *lua.LState) int {
		L.Push(lua.LString("http://" + checkHTTPServer(L, 1).ln.Addr().String() + L.OptString(2, "/")))
		return 1
	},
	"requests": func(L *lua.LState) int {
		s := checkHTTPServer(L, 1)
		s.mu.Lock()
		log := append([]httpRequest(nil), s.log...)
		s.mu.Unlock()
		t := L.NewTable()
		for _, r := range log {
			e := L.NewTable()
			e.RawSetString("method", lua.LString(r.method))
			e.RawSetString("path", lua.LString(r.path))
			e.RawSetString("body", lua.LString(r.body))
			pushHeaders(L, r.headers)
			e.RawSetString("headers", L.Get(-1))
			L.Pop(1)
			t.Append(e)
		}
		L.Push(t)
		return 1
	},
	"close": func(L *lua.LState) int {
		s := checkHTTPServer(L, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return luabind.FailErr(L, "http", err)
		}
		L.Push(lua.LTrue)
		return 1
	},
}

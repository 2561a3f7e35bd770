package host

import (
	"github.com/yuin/gopher-lua/ast"
)

// eqHelperLocal is the chunk-level local bound to the host equality
// function; eqHelperGlobal is the global it is read from once per chunk.
// catHelperLocal and catHelperGlobal are the same for concatenation.
const (
	eqHelperLocal   = "__ljdns_eq_"
	eqHelperGlobal  = "__ljdns_eq"
	catHelperLocal  = "__ljdns_cat_"
	catHelperGlobal = "__ljdns_cat"
)

// rewriteEquality rewrites `a == b` and `a ~= b` in a parsed chunk into
// calls of the host equality function when either operand may be a
// userdata and the other a string or userdata, so that LuaJIT's "cdata
// __eq is called against strings" semantics hold (DESIGN.md hard point 2).
// It reports whether anything was rewritten; if so it prepends
// `local __ljdns_eq_ = __ljdns_eq`.
//
// The same walk rewrites a concatenation `a .. b .. c` whose operands may
// be numbers into a call of the host concatenation, which writes numbers
// as tostring does (LuaJIT's "%.14g"); gopher-lua's VM writes 0.1 + 0.2
// as 0.30000000000000004. A chain of string literals, concatenations,
// integer literals and calls known to return strings stays a VM
// concatenation, and number literals are folded into the text.
func rewriteEquality(chunk []ast.Stmt) ([]ast.Stmt, bool) {
	w := &eqWalker{}
	w.stmts(chunk)
	if !w.changed && !w.catUsed {
		return chunk, false
	}
	line := 0
	if len(chunk) > 0 {
		line = chunk[0].Line()
	}
	var decls []ast.Stmt
	for _, h := range []struct {
		used          bool
		local, global string
	}{{w.changed, eqHelperLocal, eqHelperGlobal}, {w.catUsed, catHelperLocal, catHelperGlobal}} {
		if h.used {
			decl := &ast.LocalAssignStmt{Names: []string{h.local}, Exprs: []ast.Expr{&ast.IdentExpr{Value: h.global}}}
			decl.SetLine(line)
			decl.SetLastLine(line)
			decls = append(decls, decl)
		}
	}
	return append(decls, chunk...), true
}

type eqWalker struct{ changed, catUsed bool }

func (w *eqWalker) stmts(list []ast.Stmt) {
	for _, s := range list {
		w.stmt(s)
	}
}

func (w *eqWalker) exprs(list []ast.Expr) {
	for i := range list {
		list[i] = w.expr(list[i])
	}
}

func (w *eqWalker) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		w.exprs(s.Lhs)
		w.exprs(s.Rhs)
		// gopher-lua compiles `p = (f(x))` into the register of p when p is
		// the last parameter, over the locals above it; without the
		// parentheses it goes through a temporary, and when there are no
		// more targets than values the result is the same
		if n := len(s.Rhs); n > 0 && len(s.Lhs) <= n {
			if call, ok := s.Rhs[n-1].(*ast.FuncCallExpr); ok {
				call.AdjustRet = false
			}
		}
	case *ast.LocalAssignStmt:
		w.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = w.expr(s.Expr)
	case *ast.DoBlockStmt:
		w.stmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = w.expr(s.Condition)
		w.stmts(s.Stmts)
	case *ast.RepeatStmt:
		w.stmts(s.Stmts)
		s.Condition = w.expr(s.Condition)
	case *ast.IfStmt:
		s.Condition = w.expr(s.Condition)
		w.stmts(s.Then)
		w.stmts(s.Else)
	case *ast.NumberForStmt:
		s.Init = w.expr(s.Init)
		s.Limit = w.expr(s.Limit)
		if s.Step != nil {
			s.Step = w.expr(s.Step)
		}
		w.stmts(s.Stmts)
	case *ast.GenericForStmt:
		w.exprs(s.Exprs)
		padForIn(s)
		w.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			if s.Name.Func != nil {
				s.Name.Func = w.expr(s.Name.Func)
			}
			if s.Name.Receiver != nil {
				s.Name.Receiver = w.expr(s.Name.Receiver)
			}
		}
		w.stmts(s.Func.Stmts)
	case *ast.ReturnStmt:
		w.exprs(s.Exprs)
	}
}

func (w *eqWalker) expr(e ast.Expr) ast.Expr {
	switch x := e.(type) {
	case nil:
		return nil
	case *ast.AttrGetExpr:
		x.Object = w.expr(x.Object)
		x.Key = w.expr(x.Key)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			if f.Key != nil {
				f.Key = w.expr(f.Key)
			}
			f.Value = w.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		if x.Func != nil {
			x.Func = w.expr(x.Func)
		}
		if x.Receiver != nil {
			x.Receiver = w.expr(x.Receiver)
		}
		w.exprs(x.Args)
	case *ast.LogicalOpExpr:
		x.Lhs = w.expr(x.Lhs)
		x.Rhs = w.expr(x.Rhs)
	case *ast.StringConcatOpExpr:
		return w.concat(x)
	case *ast.ArithmeticOpExpr:
		x.Lhs = w.expr(x.Lhs)
		x.Rhs = w.expr(x.Rhs)
	case *ast.UnaryMinusOpExpr:
		x.Expr = w.expr(x.Expr)
	case *ast.UnaryNotOpExpr:
		x.Expr = w.expr(x.Expr)
	case *ast.UnaryLenOpExpr:
		x.Expr = w.expr(x.Expr)
	case *ast.FunctionExpr:
		w.stmts(x.Stmts)
	case *ast.RelationalOpExpr:
		x.Lhs = w.expr(x.Lhs)
		x.Rhs = w.expr(x.Rhs)
		if (x.Operator == "==" || x.Operator == "~=") && needsHostEq(x.Lhs, x.Rhs) {
			w.changed = true
			call := &ast.FuncCallExpr{Func: &ast.IdentExpr{Value: eqHelperLocal}, Args: []ast.Expr{x.Lhs, x.Rhs}, AdjustRet: true}
			copyPos(call, x)
			copyPos(call.Func, x)
			if x.Operator == "==" {
				return call
			}
			not := &ast.UnaryNotOpExpr{Expr: call}
			copyPos(not, x)
			return not
		}
	}
	return e
}

func copyPos(dst, src ast.Expr) {
	dst.SetLine(src.Line())
	dst.SetLastLine(src.LastLine())
}

// operand kinds for the equality pass
const (
	kindPlain  = iota // can be neither a userdata nor a string (nil, number, arithmetic...)
	kindString        // always a string (literal, concatenation)
	kindAny           // may be anything, a userdata included
)

func operandKind(e ast.Expr) int {
	switch e.(type) {
	case *ast.NilExpr, *ast.TrueExpr, *ast.FalseExpr, *ast.NumberExpr,
		*ast.ArithmeticOpExpr, *ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr,
		*ast.UnaryLenOpExpr, *ast.RelationalOpExpr, *ast.FunctionExpr, *ast.TableExpr:
		return kindPlain
	case *ast.StringExpr, *ast.StringConcatOpExpr:
		return kindString
	case *ast.FuncCallExpr:
		if returnsString(e.(*ast.FuncCallExpr)) {
			return kindString
		}
	}
	return kindAny
}

// returnsString reports whether a call always returns a string: type,
// tostring, the host concatenation, string.format and the other string
// functions that return one string.
func returnsString(c *ast.FuncCallExpr) bool {
	switch f := c.Func.(type) {
	case *ast.IdentExpr:
		return f.Value == "type" || f.Value == "tostring" || f.Value == catHelperLocal
	case *ast.AttrGetExpr:
		obj, ok1 := f.Object.(*ast.IdentExpr)
		key, ok2 := f.Key.(*ast.StringExpr)
		if ok1 && ok2 && obj.Value == "string" {
			switch key.Value {
			case "format", "rep", "sub", "lower", "upper", "reverse", "char":
				return true
			}
		}
	}
	return false
}

// concat rewrites the chain a .. b .. c (right-nested in the tree).
func (w *eqWalker) concat(x *ast.StringConcatOpExpr) ast.Expr {
	var ops []ast.Expr
	var e ast.Expr = x
	for {
		c, ok := e.(*ast.StringConcatOpExpr)
		if !ok {
			ops = append(ops, w.expr(e))
			break
		}
		ops = append(ops, w.expr(c.Lhs))
		e = c.Rhs
	}
	vm := true
	for i, op := range ops {
		switch o := op.(type) {
		case *ast.NumberExpr:
			f, ok := ParseNumber(o.Value)
			if !ok {
				vm = false
				continue
			}
			if text := NumberString(f); text != o.Value {
				str := &ast.StringExpr{Value: text}
				copyPos(str, o)
				ops[i] = str
			}
		default:
			if operandKind(op) != kindString {
				vm = false
			}
		}
	}
	if vm {
		// strings and literals only: the VM's concatenation, rebuilt
		out := ops[len(ops)-1]
		for i := len(ops) - 2; i >= 0; i-- {
			c := &ast.StringConcatOpExpr{Lhs: ops[i], Rhs: out}
			copyPos(c, x)
			out = c
		}
		return out
	}
	// an operand is one value: a call or ... last in the argument list
	// would pass all of its values
	switch last := ops[len(ops)-1].(type) {
	case *ast.FuncCallExpr:
		last.AdjustRet = true
	case *ast.Comma3Expr:
		last.AdjustRet = true
	}
	w.catUsed = true
	call := &ast.FuncCallExpr{Func: &ast.IdentExpr{Value: catHelperLocal}, Args: ops, AdjustRet: true}
	copyPos(call, x)
	copyPos(call.Func, x)
	return call
}

// needsHostEq reports whether a comparison may pit a userdata against a
// string (or another userdata), where LuaJIT would call __eq.
func needsHostEq(a, b ast.Expr) bool {
	ka, kb := operandKind(a), operandKind(b)
	if ka == kindPlain || kb == kindPlain {
		return false
	}
	return ka == kindAny || kb == kindAny
}

// padForIn pads the expression list of `for ... in e1, e2 do` with nil up
// to three values. gopher-lua does not adjust a short list, so the hidden
// control variable starts from a stale register and `for k, v in next, t`
// may skip its body.
func padForIn(s *ast.GenericForStmt) {
	if n := len(s.Exprs); n > 0 && n < 3 {
		switch s.Exprs[n-1].(type) {
		case *ast.FuncCallExpr, *ast.Comma3Expr:
			return // a multi-value expression fills the list itself
		}
		for len(s.Exprs) < 3 {
			nilExpr := &ast.NilExpr{}
			nilExpr.SetLine(s.Line())
			nilExpr.SetLastLine(s.Line())
			s.Exprs = append(s.Exprs, nilExpr)
		}
	}
}

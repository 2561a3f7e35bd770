package daemon

func (s *Server) serveDoH(lg *listenerGroup) {}
func (s *Server) serveWeb(lg *listenerGroup) {}

type controlServer struct{}

func (c *controlServer) close() {}

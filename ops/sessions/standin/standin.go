// Package standin is a local stand-in for the parts of AWS Systems Manager
// that the emulator lacks: StartSession, ResumeSession, TerminateSession
// and DescribeInstanceInformation, plus an agent that speaks the Session
// Manager data-channel protocol (handshake, acknowledgements, shell and
// multiplexed port-forward streams) over a WebSocket. Every other SSM call
// is proxied to the emulator, so one endpoint serves all of SSM.
//
// AWS's real session-manager-plugin code connects to it unchanged, which
// is how tests exercise the real plugin end to end and how `opsdeck demo`
// gives a newcomer working jumpbox shells and tunnels. It only ever dials
// loopback addresses: remote hosts named in a port forward are mapped to
// local stand-ins.
package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Instance is a managed instance the stand-in reports as online.
type Instance struct {
	ID       string
	Name     string
	Platform string // "Linux"
}

// Options configure a stand-in.
type Options struct {
	// Upstream receives every SSM call the stand-in does not serve
	// (the emulator's URL); empty answers them with an error.
	Upstream string
	// Shell is the command a shell session runs (default: sh -i).
	Shell []string
	// Dial connects a port-forward stream to host:port. It must only
	// reach loopback; the default maps localhost names to 127.0.0.1 and
	// refuses anything else.
	Dial func(ctx context.Context, host string, port string) (net.Conn, error)
	// AgentVersion announced in the handshake (default 3.3.1000.0, which
	// makes the plugin use multiplexed port forwarding).
	AgentVersion string
}

// trace logs every data-channel frame to stderr when
// OPSDECK_STANDIN_TRACE is set (for debugging the protocol).
var trace = os.Getenv("OPSDECK_STANDIN_TRACE") != ""

func tracef(format string, a ...any) {
	if trace {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+"standin: "+format+"\n", a...)
	}
}

// Call records one API call the stand-in served.
type Call struct {
	Op        string
	SessionID string
	Target    string
	Document  string
}

// Server is a running stand-in on 127.0.0.1.
type Server struct {
	URL  string
	opts Options
	srv  *http.Server
	ln   net.Listener

	mu        sync.Mutex
	instances map[string]Instance
	sessions  map[string]*session
	calls     []Call
	nextID    atomic.Int64
	proxy     *httputil.ReverseProxy
}

type session struct {
	id, target, document string
	params               map[string][]string
	token                string
	terminated           bool
	conn                 *websocket.Conn
	closeOnce            sync.Once
	done                 chan struct{}
}

// Start runs a stand-in on a free loopback port.
func Start(opts Options) (*Server, error) {
	if len(opts.Shell) == 0 {
		opts.Shell = []string{"sh", "-i"}
	}
	if opts.Dial == nil {
		opts.Dial = LoopbackOnly
	}
	if opts.AgentVersion == "" {
		opts.AgentVersion = "3.3.1000.0"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stand-in SSM: listen: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), opts: opts, ln: ln,
		instances: map[string]Instance{}, sessions: map[string]*session{}}
	if opts.Upstream != "" {
		u, err := url.Parse(opts.Upstream)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("stand-in SSM: upstream: %w", err)
		}
		s.proxy = httputil.NewSingleHostReverseProxy(u)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/data-channel/", s.dataChannel)
	mux.HandleFunc("/", s.api)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server and every session.
func (s *Server) Close() {
	s.DropAll()
	_ = s.srv.Close()
}

// Register marks instances as managed and online.
func (s *Server) Register(in ...Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range in {
		if i.Platform == "" {
			i.Platform = "Linux"
		}
		s.instances[i.ID] = i
	}
}

// Calls returns the calls served so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// DropAll closes every data channel abruptly, as the service does when it
// recycles connections; the sessions cannot be resumed afterwards.
func (s *Server) DropAll() {
	s.mu.Lock()
	var all []*session
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.drop()
	}
}

func (ss *session) drop() {
	ss.closeOnce.Do(func() {
		ss.terminated = true
		if ss.conn != nil {
			ss.conn.Close()
		}
		close(ss.done)
	})
}

// LoopbackOnly dials host:port when host is a loopback name or address,
// and refuses everything else: the stand-in never sends traffic off the
// machine.
func LoopbackOnly(ctx context.Context, host, port string) (net.Conn, error) {
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("stand-in agent: %s is not a loopback address; map it to a local stand-in", host)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
}

// MapHosts returns a Dial that sends every non-loopback host to one local
// address (a stand-in database, say), and loopback hosts where they ask.
func MapHosts(standIn string) func(ctx context.Context, host, port string) (net.Conn, error) {
	return func(ctx context.Context, host, port string) (net.Conn, error) {
		if c, err := LoopbackOnly(ctx, host, port); err == nil {
			return c, nil
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", standIn)
	}
}

type apiError struct {
	status int
	code   string
	msg    string
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := strings.TrimPrefix(target, "AmazonSSM.")
	var out any
	var aerr *apiError
	switch op {
	case "StartSession", "ResumeSession", "TerminateSession", "DescribeInstanceInformation":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			aerr = &apiError{400, "ValidationException", err.Error()}
			break
		}
		out, aerr = s.serve(op, body, r.Host)
	default:
		if s.proxy == nil {
			aerr = &apiError{400, "InvalidAction", op + " is not served by the stand-in"}
			break
		}
		s.proxy.ServeHTTP(w, r)
		return
	}
	if aerr != nil {
		writeJSON(w, aerr.status, map[string]string{"__type": aerr.code, "message": aerr.msg})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serve(op string, body []byte, host string) (any, *apiError) {
	var in struct {
		Target       string
		DocumentName string
		Parameters   map[string][]string
		SessionId    string
		Filters      []struct {
			Key    string
			Values []string
		}
		InstanceInformationFilterList []struct {
			Key      string   `json:"key"`
			ValueSet []string `json:"valueSet"`
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &apiError{400, "ValidationException", err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "StartSession":
		if _, ok := s.instances[in.Target]; !ok {
			return nil, &apiError{400, "TargetNotConnected", in.Target + " is not connected."}
		}
		// Unique like real session ids: the plugin names its mux socket
		// after the id, so a reused id collides with a stale socket.
		rnd := newID()
		id := fmt.Sprintf("opsdeck-%d-%x", s.nextID.Add(1), rnd[:6])
		ss := &session{id: id, target: in.Target, document: in.DocumentName, params: in.Parameters,
			token: fmt.Sprintf("token-%s-%d", id, time.Now().UnixNano()), done: make(chan struct{})}
		s.sessions[id] = ss
		s.calls = append(s.calls, Call{Op: op, SessionID: id, Target: in.Target, Document: in.DocumentName})
		return map[string]string{"SessionId": id, "TokenValue": ss.token,
			"StreamUrl": "ws://" + host + "/v1/data-channel/" + id + "?role=publish_subscribe"}, nil
	case "ResumeSession":
		s.calls = append(s.calls, Call{Op: op, SessionID: in.SessionId})
		ss, ok := s.sessions[in.SessionId]
		if !ok || ss.terminated {
			// An empty token tells the plugin the session is gone; it
			// exits and opsdeck's supervisor starts a new one.
			return map[string]any{"SessionId": in.SessionId, "TokenValue": "", "StreamUrl": ""}, nil
		}
		return map[string]string{"SessionId": ss.id, "TokenValue": ss.token,
			"StreamUrl": "ws://" + host + "/v1/data-channel/" + ss.id + "?role=publish_subscribe"}, nil
	case "TerminateSession":
		s.calls = append(s.calls, Call{Op: op, SessionID: in.SessionId})
		if ss, ok := s.sessions[in.SessionId]; ok {
			go ss.drop()
		}
		return map[string]string{"SessionId": in.SessionId}, nil
	case "DescribeInstanceInformation":
		s.calls = append(s.calls, Call{Op: op})
		want := map[string]bool{}
		for _, f := range in.Filters {
			if f.Key == "InstanceIds" {
				for _, v := range f.Values {
					want[v] = true
				}
			}
		}
		for _, f := range in.InstanceInformationFilterList {
			if f.Key == "InstanceIds" {
				for _, v := range f.ValueSet {
					want[v] = true
				}
			}
		}
		var list []map[string]any
		now := float64(time.Now().Unix())
		for id, i := range s.instances {
			if len(want) > 0 && !want[id] {
				continue
			}
			list = append(list, map[string]any{"InstanceId": id, "PingStatus": "Online", "AgentVersion": s.opts.AgentVersion,
				"PlatformType": i.Platform, "PlatformName": "Amazon Linux", "ComputerName": i.Name, "LastPingDateTime": now,
				"IsLatestVersion": true, "ResourceType": "EC2Instance"})
		}
		return map[string]any{"InstanceInformationList": list}, nil
	}
	return nil, &apiError{400, "InvalidAction", op}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// dataChannel is the agent's end of a session's WebSocket.
func (s *Server) dataChannel(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/data-channel/")
	s.mu.Lock()
	ss, ok := s.sessions[id]
	s.mu.Unlock()
	if !ok || ss.terminated {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ss.conn = conn
	ag := &agent{s: s, ss: ss, conn: conn, outbox: map[int64]outFrame{}}
	go ag.resender()
	ag.run()
}

// agent runs one session's data channel.
type agent struct {
	s    *Server
	ss   *session
	conn *websocket.Conn
	wmu  sync.Mutex
	seq  int64 // next output sequence number
	in   chan []byte
	// expected input sequence number: inputs are delivered in order once
	expect int64

	// outbox holds output frames until the client acknowledges them: the
	// plugin drops (and does not acknowledge) output that arrives before
	// its session handler is ready, so unacknowledged output is resent,
	// as the real agent does.
	omu    sync.Mutex
	outbox map[int64]outFrame
}

type outFrame struct {
	data []byte
	sent time.Time
}

// resendEvery is how often unacknowledged output is sent again.
const resendEvery = 150 * time.Millisecond

func (a *agent) resender() {
	t := time.NewTicker(resendEvery)
	defer t.Stop()
	for {
		select {
		case <-a.ss.done:
			return
		case <-t.C:
		}
		a.omu.Lock()
		var due []int64
		for seq, f := range a.outbox {
			if time.Since(f.sent) >= resendEvery {
				due = append(due, seq)
			}
		}
		sort.Slice(due, func(i, j int) bool { return due[i] < due[j] })
		frames := make([][]byte, 0, len(due))
		for _, seq := range due {
			f := a.outbox[seq]
			f.sent = time.Now()
			a.outbox[seq] = f
			frames = append(frames, f.data)
		}
		a.omu.Unlock()
		if len(frames) > 0 {
			tracef("%s resend %v", a.ss.id, due)
		}
		for _, b := range frames {
			a.wmu.Lock()
			err := a.conn.WriteMessage(websocket.BinaryMessage, b)
			a.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (a *agent) acked(seq int64) {
	a.omu.Lock()
	delete(a.outbox, seq)
	a.omu.Unlock()
}

// drain waits (bounded) until every output frame is acknowledged.
func (a *agent) drain(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		a.omu.Lock()
		n := len(a.outbox)
		a.omu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-a.ss.done:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (a *agent) send(f frame) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if f.Type == msgOutput {
		f.Seq = a.seq
		a.seq++
	}
	if f.ID == ([16]byte{}) {
		f.ID = newID()
	}
	b := f.encode()
	tracef("%s > %s seq=%d pt=%d len=%d", a.ss.id, f.Type, f.Seq, f.PayloadType, len(f.Payload))
	if f.Type == msgOutput {
		a.omu.Lock()
		a.outbox[f.Seq] = outFrame{data: b, sent: time.Now()}
		a.omu.Unlock()
	}
	return a.conn.WriteMessage(websocket.BinaryMessage, b)
}

// output sends stream data with one frame in flight at a time: with
// pipelined frames, AWS's plugin lost a frame about 1 run in 40 when two
// port-forward streams opened at once (its out-of-order buffer path); the
// stand-in only needs to be correct, not fast.
func (a *agent) output(pt uint32, payload []byte) error {
	if pt == ptOutput {
		a.drain(2 * time.Second)
	}
	return a.send(frame{Type: msgOutput, PayloadType: pt, Payload: payload})
}

func (a *agent) ack(f frame) error {
	body, _ := json.Marshal(map[string]any{"AcknowledgedMessageType": f.Type, "AcknowledgedMessageId": uuidString(f.ID),
		"AcknowledgedMessageSequenceNumber": f.Seq, "IsSequentialMessage": true})
	return a.send(frame{Type: msgAck, Flags: 3, Payload: body})
}

func (a *agent) run() {
	defer a.ss.drop()
	// First comes the OpenDataChannel text message with the token.
	_, first, err := a.conn.ReadMessage()
	if err != nil {
		return
	}
	var open struct{ TokenValue string }
	if json.Unmarshal(first, &open) != nil || open.TokenValue != a.ss.token {
		return
	}
	sessionType, props := "Standard_Stream", map[string]any{}
	if strings.Contains(a.ss.document, "PortForwarding") {
		sessionType = "Port"
		props["type"] = "LocalPortForwarding"
		props["portNumber"] = first1(a.ss.params["portNumber"], "22")
		props["localPortNumber"] = first1(a.ss.params["localPortNumber"], "")
	}
	action, _ := json.Marshal(map[string]any{"SessionType": sessionType, "Properties": props})
	req, _ := json.Marshal(map[string]any{"AgentVersion": a.s.opts.AgentVersion,
		"RequestedClientActions": []map[string]any{{"ActionType": "SessionType", "ActionParameters": json.RawMessage(action)}}})
	if a.output(ptHandshakeRequest, req) != nil {
		return
	}
	a.in = make(chan []byte, 256)
	handshook := make(chan struct{})
	go a.readLoop(handshook)
	select {
	case <-handshook:
	case <-a.ss.done:
		return
	case <-time.After(30 * time.Second):
		return
	}
	done, _ := json.Marshal(map[string]any{"HandshakeTimeToComplete": int64(time.Millisecond), "CustomerMessage": ""})
	if a.output(ptHandshakeComplete, done) != nil {
		return
	}
	if sessionType == "Port" {
		host := first1(a.ss.params["host"], "localhost")
		a.portForward(host, first1(a.ss.params["portNumber"], "22"))
	} else {
		a.shell()
	}
}

func first1(v []string, def string) string {
	if len(v) > 0 && v[0] != "" {
		return v[0]
	}
	return def
}

// readLoop acks every input frame, delivers stream data in sequence order
// (a resent frame is acked again but delivered once) and watches for the
// handshake response and the terminate flag.
func (a *agent) readLoop(handshook chan struct{}) {
	defer close(a.in)
	pending := map[int64]frame{}
	once := sync.Once{}
	for {
		_, b, err := a.conn.ReadMessage()
		if err != nil {
			return
		}
		f, err := decode(b)
		if err != nil {
			tracef("%s < undecodable frame: %v", a.ss.id, err)
			continue
		}
		tracef("%s < %s seq=%d pt=%d len=%d", a.ss.id, f.Type, f.Seq, f.PayloadType, len(f.Payload))
		if f.Type == msgAck {
			var ack struct {
				Seq int64 `json:"AcknowledgedMessageSequenceNumber"`
			}
			if json.Unmarshal(f.Payload, &ack) == nil {
				a.acked(ack.Seq)
			}
			continue
		}
		if f.Type != msgInput {
			continue
		}
		if a.ack(f) != nil {
			return
		}
		if f.Seq < a.expect {
			continue
		}
		pending[f.Seq] = f
		for {
			g, ok := pending[a.expect]
			if !ok {
				break
			}
			delete(pending, a.expect)
			a.expect++
			switch g.PayloadType {
			case ptHandshakeResponse:
				once.Do(func() { close(handshook) })
			case ptFlag:
				if len(g.Payload) >= 4 && g.Payload[3] == flagTerminateSession {
					return
				}
			case ptOutput:
				select {
				case a.in <- append([]byte(nil), g.Payload...):
				case <-a.ss.done:
					return
				}
			}
		}
	}
}

func (a *agent) closeChannel() {
	a.drain(5 * time.Second)
	body, _ := json.Marshal(map[string]any{"MessageId": uuidString(newID()), "CreatedDate": time.Now().UTC().Format(time.RFC3339),
		"SessionId": a.ss.id, "MessageType": msgChannelClosed, "SchemaVersion": 1, "Output": ""})
	_ = a.send(frame{Type: msgChannelClosed, Payload: body})
}

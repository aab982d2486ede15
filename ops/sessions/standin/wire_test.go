package standin

import (
	"bytes"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	f := frame{Type: msgOutput, Seq: 42, Flags: 1, ID: newID(), PayloadType: ptOutput, Payload: []byte("hello")}
	b := f.encode()
	if len(b) != payloadStart+5 {
		t.Fatalf("len %d", len(b))
	}
	g, err := decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if g.Type != f.Type || g.Seq != 42 || g.ID != f.ID || g.PayloadType != ptOutput || !bytes.Equal(g.Payload, f.Payload) {
		t.Fatalf("round trip: %+v", g)
	}
	b[len(b)-1] ^= 1
	if _, err := decode(b); err == nil {
		t.Fatal("corrupt payload accepted")
	}
	if _, err := decode(b[:10]); err == nil {
		t.Fatal("short frame accepted")
	}
}

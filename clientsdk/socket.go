package clientsdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// authenticate sends AuthRequest and reads frames until Authenticated. It runs in Join before
// any goroutine is started, so it reads the socket itself.
func (c *Client) authenticate(ctx context.Context) error {
	req, err := proto.Marshal(&wire.PeerMessage{Content: &wire.PeerMessage_AuthRequest_{
		AuthRequest: &wire.PeerMessage_AuthRequest{Token: c.cfg.Token}}})
	if err != nil {
		return err
	}
	if err := c.write(ctx, req); err != nil {
		return c.closeErr(err, "send auth request")
	}
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			return c.closeErr(err, "wait for authenticated")
		}
		if typ != websocket.MessageBinary {
			continue
		}
		var msg wire.PeerMessage
		if err := proto.Unmarshal(data, &msg); err != nil {
			c.log.Warn("invalid peer message before authentication", "err", err)
			continue
		}
		if msg.GetAuthenticated() != nil {
			return nil
		}
		c.log.Warn("unexpected peer message before authentication")
	}
}

// closeErr turns a socket error into a *CloseError when the server closed the socket.
func (c *Client) closeErr(err error, op string) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return fmt.Errorf("clientsdk: %s: %w", op, err)
}

// readLoop is the socket reader goroutine: one PeerMessage per binary frame; media events are
// decoded here and handled by the loop in arrival order.
func (c *Client) readLoop() {
	for {
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.post(func() { c.onSocketClosed(err) })
			return
		}
		if typ != websocket.MessageBinary {
			continue
		}
		var msg wire.PeerMessage
		if err := proto.Unmarshal(data, &msg); err != nil {
			c.log.Warn("invalid peer message", "err", err)
			continue
		}
		me := msg.GetMediaEvent()
		if me == nil {
			c.log.Debug("ignoring peer message without media event")
			continue
		}
		ev, err := wire.DecodeServerEvent([]byte(me.GetData()))
		if err != nil {
			if errors.Is(err, wire.ErrUnknownEvent) {
				c.log.Debug("ignoring unknown media event", "err", err)
			} else {
				c.log.Warn("ignoring malformed media event", "err", err)
			}
			continue
		}
		c.post(func() { c.handle(ev) })
	}
}

// send encodes a media event payload (JSON) into a PeerMessage and writes it with the default
// write timeout.
func (c *Client) send(mediaEvent []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return c.sendRaw(ctx, mediaEvent)
}

// sendEvent encodes and sends a typed client event.
func (c *Client) sendEvent(ev wire.ClientEvent) error {
	b, err := wire.EncodeClientEvent(ev)
	if err != nil {
		return err
	}
	return c.send(b)
}

func (c *Client) sendRaw(ctx context.Context, mediaEvent []byte) error {
	b, err := proto.Marshal(&wire.PeerMessage{Content: &wire.PeerMessage_MediaEvent_{
		MediaEvent: &wire.PeerMessage_MediaEvent{Data: string(mediaEvent)}}})
	if err != nil {
		return err
	}
	return c.write(ctx, b)
}

// write writes one binary frame; writes are serialized (coder/websocket allows one writer).
func (c *Client) write(ctx context.Context, frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.Write(ctx, websocket.MessageBinary, frame)
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// uploader posts batches to /upload.
type uploader struct {
	client *http.Client
	url    string
	auth   string // the Authorization header
}

// send posts one batch and reads psmongo's answer: the ops applied and
// rejected.
func (u *uploader) send(ctx context.Context, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.url, bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", u.auth)

	start := time.Now()
	answer, status, err := roundTrip(u.client, req)
	took := time.Since(start)
	if err != nil {
		return result{took: took, err: err}
	}
	if status != http.StatusOK {
		return result{took: took, err: statusError(status, answer)}
	}

	var res struct {
		Applied  int               `json:"applied"`
		Rejected []json.RawMessage `json:"rejected"`
	}
	if err := json.Unmarshal(answer, &res); err != nil {
		return result{took: took, err: fmt.Errorf("status 200 with a body that is not an upload result")}
	}
	return result{ops: res.Applied, rejected: len(res.Rejected), took: took}
}

// fetchToken gets a token for userID from GET /token, as the SDK's
// fetchCredentials() does.
func fetchToken(ctx context.Context, client *http.Client, base, userID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/token?user_id="+url.QueryEscape(userID), nil)
	if err != nil {
		return "", err
	}
	answer, status, err := roundTrip(client, req)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", statusError(status, answer)
	}

	var res struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(answer, &res); err != nil || res.Token == "" {
		return "", fmt.Errorf("GET /token: status 200 without a token")
	}
	return res.Token, nil
}

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 1 << 20

// roundTrip sends req and returns the status and the body of the answer.
func roundTrip(client *http.Client, req *http.Request) ([]byte, int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: reading the answer: %w", req.Method, req.URL.Path, err)
	}
	return b, resp.StatusCode, nil
}

// statusError describes an answer other than 200 by its status and
// psmongo's error code and message.
func statusError(status int, answer []byte) error {
	var res struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(answer, &res) != nil || res.Error.Code == "" {
		return fmt.Errorf("status %d", status)
	}
	return fmt.Errorf("status %d, %s: %s", status, res.Error.Code, res.Error.Message)
}

package server

import (
	"encoding/json"
	"net/http"
)

// The two error shapes of Jellyfish: application errors carry a string, framework errors (no
// route, unparsable body, unacceptable Accept, crash) an object with the HTTP reason phrase.
type appError struct {
	Errors string `json:"errors"`
}

type frameworkError struct {
	Errors struct {
		Detail string `json:"detail"`
	} `json:"errors"`
}

type dataBody struct {
	Data any `json:"data"`
}

const jsonContentType = "application/json; charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // our own types always marshal; keep the failure visible anyway
		status, body = http.StatusInternalServerError, []byte(`{"errors":{"detail":"Internal Server Error"}}`)
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	w.Write(body)
}

func writeData(w http.ResponseWriter, status int, data any) { writeJSON(w, status, dataBody{data}) }

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, appError{msg})
}

func writeFrameworkError(w http.ResponseWriter, status int) {
	var e frameworkError
	e.Errors.Detail = http.StatusText(status)
	writeJSON(w, status, e)
}

// writeText answers a plain-text body, as Jellyfish does for subscribe and SIP dial.
func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(text))
}

package service

import (
	"encoding/json"
	"net/http"
)

// FieldError names one broken rule.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

type errorBody struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details []FieldError `json:"details,omitempty"`
}

// writeError sends the one error shape of the service: {"error": {"code", "message", "details"}}.
func writeError(w http.ResponseWriter, status int, code, message string, details []FieldError) {
	writeJSON(w, status, map[string]errorBody{"error": {Code: code, Message: message, Details: details}})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

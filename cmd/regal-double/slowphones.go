package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// slowPhones is the repeatable -slow-phone flag: E.164=duration.
type slowPhones map[string]time.Duration

// String lists the phones in flag syntax, sorted.
func (s slowPhones) String() string {
	items := make([]string, 0, len(s))
	for _, phone := range slices.Sorted(maps.Keys(s)) {
		items = append(items, phone+"="+s[phone].String())
	}
	return strings.Join(items, ",")
}

// Set adds one phone=duration pair.
func (s slowPhones) Set(value string) error {
	phone, delay, ok := strings.Cut(value, "=")
	if !ok || !strings.HasPrefix(phone, "+") {
		return errors.New("want +E164=duration, e.g. +15515557212=2s")
	}
	d, err := time.ParseDuration(delay)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("delay %s is negative", d)
	}
	s[phone] = d
	return nil
}

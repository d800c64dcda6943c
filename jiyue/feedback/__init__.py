"""Page ratings (好/差) and error reports (我为政府网站找错)."""

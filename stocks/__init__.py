"""Stocks: the listed stocks, their prices, quotes and house inventory."""

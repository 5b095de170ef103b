"""The account API's shapes: hand-rendered accounts and positions, the inputs."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from brokerage.ledger.models import LedgerEntry
from brokerage.shared import money
from brokerage.shared.fields import (
    cash_input,
    cash_output,
    datetime_text,
    decimal_text,
    money_output,
    quantity_output,
)
from brokerage.shared.money import CASH_STEP, PRICE_STEP, QUANTITY_STEP
from users.models import ApiToken, Position, User


class PositionOutputSerializer(serializers.ModelSerializer[Position]):
    """A position; declared for the schema, rendered by hand like orders (a test pins
    both to the same output)."""

    symbol = serializers.CharField(source="stock.symbol")
    available_quantity = quantity_output()
    market_value = serializers.SerializerMethodField()
    unrealized_pnl = serializers.SerializerMethodField()

    class Meta:
        model = Position
        fields = (
            "symbol",
            "quantity",
            "available_quantity",
            "average_cost",
            "market_value",
            "unrealized_pnl",
            "realized_pnl",
        )
        read_only_fields = fields

    def to_representation(self, position: Position) -> dict[str, Any]:
        return {
            "symbol": position.stock.symbol,
            "quantity": decimal_text(position.quantity, QUANTITY_STEP),
            "available_quantity": decimal_text(position.available_quantity, QUANTITY_STEP),
            "average_cost": decimal_text(position.average_cost, PRICE_STEP),
            "market_value": self.get_market_value(position),
            "unrealized_pnl": self.get_unrealized_pnl(position),
            "realized_pnl": decimal_text(position.realized_pnl, CASH_STEP),
        }

    @extend_schema_field(money_output())
    def get_market_value(self, position: Position) -> str:
        return str(money.cash_amount(position.quantity * position.stock.price))

    @extend_schema_field(money_output())
    def get_unrealized_pnl(self, position: Position) -> str:
        return str(
            money.cash_amount(position.quantity * (position.stock.price - position.average_cost))
        )


class UserOutputSerializer(serializers.ModelSerializer[User]):
    """An account; declared for the schema, rendered by hand (pinned by a test)."""

    available_cash = cash_output()

    class Meta:
        model = User
        fields: tuple[str, ...] = (
            "id",
            "name",
            "surname",
            "email",
            "type",
            "cash",
            "available_cash",
            "telegram_chat_id",
            "is_staff",
            "date_joined",
        )
        read_only_fields = fields

    def to_representation(self, user: User) -> dict[str, Any]:
        return {
            "id": str(user.pk),
            "name": user.name,
            "surname": user.surname,
            "email": user.email,
            "type": user.type,
            "cash": decimal_text(user.cash, CASH_STEP),
            "available_cash": decimal_text(user.available_cash, CASH_STEP),
            "telegram_chat_id": user.telegram_chat_id,
            "is_staff": user.is_staff,
            "date_joined": datetime_text(user.date_joined, timezone.get_current_timezone()),
        }


class UserCreatedSerializer(UserOutputSerializer):
    """The new account with its first API token's key (context `token`): only its hash is
    stored, so this answer is the one place it is ever shown."""

    token = serializers.SerializerMethodField(help_text="Send as `Authorization: Token <token>`.")

    @extend_schema_field(str)
    def get_token(self, user: User) -> str:
        return str(self.context["token"])

    def to_representation(self, user: User) -> dict[str, Any]:
        return {**super().to_representation(user), "token": self.get_token(user)}

    class Meta(UserOutputSerializer.Meta):
        fields = (*UserOutputSerializer.Meta.fields, "token")
        read_only_fields = fields


class UserDetailSerializer(UserOutputSerializer):
    """An account with its positions (from users.selectors.get_user_detail)."""

    positions = PositionOutputSerializer(many=True, source="position_list")

    def to_representation(self, user: User) -> dict[str, Any]:
        position = PositionOutputSerializer()
        positions = user.position_list  # type: ignore[attr-defined]
        return {
            **super().to_representation(user),
            "positions": [position.to_representation(p) for p in positions],
        }

    class Meta(UserOutputSerializer.Meta):
        fields = (*UserOutputSerializer.Meta.fields, "positions")
        read_only_fields = fields


class UserCreateInputSerializer(serializers.Serializer[None]):
    # Required and non-blank, as the original API required them.
    name = serializers.CharField(max_length=150)
    surname = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        min_length=8,
        max_length=128,
        required=False,
        write_only=True,
        style={"input_type": "password"},
    )
    balance = cash_input(
        required=False,
        help_text="Starting cash; DEFAULT_USER_BALANCE when omitted.",
    )


class UserUpdateInputSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    surname = serializers.CharField(max_length=150, allow_blank=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "telegram_chat_id" in self.initial_data:  # proved by the bot, never typed
            raise serializers.ValidationError(
                {"telegram_chat_id": "Link a chat with POST /api/v1/users/{id}/telegram-link."},
                code="read_only",
            )
        return attrs


class LoginInputSerializer(serializers.Serializer[None]):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The client or device the token is for, to tell it apart in GET tokens.",
    )


class TokenOutputSerializer(serializers.Serializer[dict[str, Any]]):
    """A token as issued at login: the key is in this answer only."""

    id = serializers.UUIDField(help_text="Revoke with DELETE /api/v1/tokens/{id}.")
    name = serializers.CharField()
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the token stops working; null: AUTH_TOKEN_TTL is off."
    )


class ApiTokenOutputSerializer(serializers.ModelSerializer[ApiToken]):
    """One of the caller's tokens: which client holds it and when it was last used. Never
    the key (not stored) nor its hash."""

    prefix = serializers.CharField(help_text="The key's first characters, to recognise it.")

    class Meta:
        model = ApiToken
        fields = ("id", "name", "prefix", "created_at", "expires_at", "last_used_at")
        read_only_fields = fields


class ActivityOutputSerializer(serializers.ModelSerializer[LedgerEntry]):
    """One journal entry of an account (Alpaca's account activity)."""

    user_id = serializers.UUIDField()
    symbol = serializers.CharField(
        source="stock.symbol", allow_null=True, help_text="null: a cash entry"
    )

    class Meta:
        model = LedgerEntry
        fields = (
            "id",
            "user_id",
            "kind",
            "symbol",
            "amount",
            "balance_after",
            "order_id",
            "created_at",
        )
        read_only_fields = fields

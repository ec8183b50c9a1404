"""What a caller may see: the ONE place where ownership is checked.

A client token sees its own client's contracts and documents (never drafts); a finance token
sees everything. Anything outside the caller's scope is reported exactly like something that
does not exist (404), so a client cannot even learn that another client's id is taken.
Routes never query documents, contracts or clients by id themselves: they take the
``Owned*`` dependencies below, or ``scoped_documents`` for lists. The dependencies look up in
a short session of their own, so a POST holds no read transaction while its service writes
(on SQLite every transaction takes the write lock); the objects come back detached.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from billing.access.tokens import Principal
from billing.api.deps import Caller, EngineDep, PortalClient
from billing.storage.db import reading
from billing.storage.models import Client, Contract, Document


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def scoped_documents(principal: Principal) -> Select[Document, str]:
    """Documents (with their contract code) the caller may see."""
    query = select(Document, Contract.code).join(Contract, col(Contract.id) == col(Document.contract_id))
    if principal.client_id is not None:
        query = query.where(col(Document.client_id) == principal.client_id, col(Document.status) != "draft")
    return query


def find_document(session: Session, principal: Principal, document_id: int) -> Document:
    row = session.exec(scoped_documents(principal).where(col(Document.id) == document_id)).first()
    if row is None:
        raise not_found(f"document {document_id}")
    document: Document = row[0]
    return document


def find_contract(session: Session, principal: Principal, code: str) -> Contract:
    query = select(Contract).where(col(Contract.code) == code)
    if principal.client_id is not None:
        query = query.where(col(Contract.client_id) == principal.client_id)
    contract = session.exec(query).first()
    if contract is None:
        raise not_found(f"contract {code!r}")
    return contract


def find_client(session: Session, principal: Principal, client_id: str) -> Client:
    if principal.client_id is not None and principal.client_id != client_id:
        raise not_found(f"client {client_id!r}")
    client = session.get(Client, client_id)
    if client is None:
        raise not_found(f"client {client_id!r}")
    return client


DocumentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The document's id")]


def owned_document(engine: EngineDep, principal: Caller, document_id: DocumentId) -> Document:
    with reading(engine) as session:
        return find_document(session, principal, document_id)


def owned_contract(engine: EngineDep, principal: Caller, code: str) -> Contract:
    with reading(engine) as session:
        return find_contract(session, principal, code)


def owned_client(engine: EngineDep, principal: Caller, client_id: str) -> Client:
    with reading(engine) as session:
        return find_client(session, principal, client_id)


def portal_document(engine: EngineDep, principal: PortalClient, document_id: DocumentId) -> Document:
    with reading(engine) as session:
        return find_document(session, principal, document_id)


OwnedDocument = Annotated[Document, Depends(owned_document)]
OwnedContract = Annotated[Contract, Depends(owned_contract)]
OwnedClient = Annotated[Client, Depends(owned_client)]
PortalDocument = Annotated[Document, Depends(portal_document)]
